/**
 * Measures the client-side cost of one eth_sendRawTransaction request for the three ways the
 * submit loop could send it: viem's `http` transport, fetch (undici), and node:http with
 * keep-alive (RpcClient). The server is a trivial JSON-RPC responder in a child process, so the
 * numbers are the client's overhead only. Run: node --import tsx packages/chain/bench/client-overhead.ts
 */
import { spawn } from 'node:child_process';
import { createPublicClient, http as viemHttp, type Hex } from 'viem';
import { freePort } from './nodes.ts';
import { RpcClient } from './rpc.ts';
import { round } from './stats.ts';

const REQUESTS = 20_000;
const CONCURRENCY = [10, 640];
const RAW_TX: Hex = `0x02${'ab'.repeat(110)}`;

const SERVER = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const { id } = JSON.parse(Buffer.concat(chunks).toString());
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ jsonrpc: '2.0', id, result: '0x' + 'ab'.repeat(32) }));
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[1]), '127.0.0.1', () => console.log('ready'));
`;

type Sender = () => Promise<unknown>;

async function measure(
  send: Sender,
  concurrency: number,
): Promise<{ reqPerSec: number; cpuUsPerReq: number }> {
  let issued = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < REQUESTS) {
        issued++;
        await send();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { reqPerSec: round(REQUESTS / seconds, 0), cpuUsPerReq: round((cpu.user + cpu.system) / REQUESTS) };
}

async function main(): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['--input-type=module', '-e', SERVER, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
  try {
    const rpc = new RpcClient(url);
    const viem = createPublicClient({ transport: viemHttp(url, { retryCount: 0 }) });
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_sendRawTransaction',
      params: [RAW_TX],
    });
    const clients: Record<string, Sender> = {
      'node:http (RpcClient)': () => rpc.send('eth_sendRawTransaction', [RAW_TX]),
      fetch: async () =>
        (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json(),
      'viem http transport': () => viem.request({ method: 'eth_sendRawTransaction', params: [RAW_TX] }),
    };
    const results: Record<string, Record<string, { reqPerSec: number; cpuUsPerReq: number }>> = {};
    for (const [name, send] of Object.entries(clients)) {
      await measure(send, 10); // warm-up (JIT, sockets)
      for (const concurrency of CONCURRENCY) {
        (results[name] ??= {})[`concurrency ${concurrency}`] = await measure(send, concurrency);
      }
    }
    rpc.close();
    process.stdout.write(`${JSON.stringify({ requests: REQUESTS, results }, null, 2)}\n`);
  } finally {
    server.kill();
  }
}

await main();
