import http from 'node:http';
import { createPublicClient, http as viemHttp } from 'viem';
const url = 'http://127.0.0.1:18600';
const N = Number(process.argv[3] ?? 20000);
const CONC = Number(process.argv[4] ?? 10);
const rawTx = '0x02' + 'ab'.repeat(110);
const body = (id: number) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_sendRawTransaction', params: [rawTx] });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
function viaHttp(id: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const data = body(id);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
async function viaFetch(id: number): Promise<unknown> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(id),
  });
  return r.json();
}
const client = createPublicClient({ transport: viemHttp(url, { retryCount: 0 }) });
async function viaViem(_id: number): Promise<unknown> {
  return client.request({ method: 'eth_sendRawTransaction', params: [rawTx as `0x${string}`] });
}
const fns: Record<string, (id: number) => Promise<unknown>> = {
  http: viaHttp,
  fetch: viaFetch,
  viem: viaViem,
};
const fn = fns[process.argv[2] ?? 'http']!;
let next = 0;
const t0 = performance.now();
const c0 = process.cpuUsage();
await Promise.all(
  Array.from({ length: CONC }, async () => {
    while (next < N) {
      const id = next++;
      await fn(id);
    }
  }),
);
const dt = performance.now() - t0;
const cpu = process.cpuUsage(c0);
console.log(
  process.argv[2],
  'conc',
  CONC,
  'req/s',
  Math.round((N / dt) * 1000),
  'client cpu us/req',
  ((cpu.user + cpu.system) / N).toFixed(1),
);
