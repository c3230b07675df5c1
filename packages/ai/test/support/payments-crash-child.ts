/**
 * Child process of the crash-safety test: opens a gate on a given folder, serves and completes
 * `count` paid requests as dev account `payerIndex`, prints `COMPLETED <owed>` once the last
 * `complete` has returned (the moment a server would send the response), then idles until killed.
 *
 *     node --import tsx payments-crash-child.ts <rpcUrl> <dataDir> <modelId> <payerIndex> <count>
 */
import { account } from '../../../data/test/support/versions-fixture.ts';
import { PayingClient } from '../../src/openlora/payments/paying-client.ts';
import { PaymentGate } from '../../src/openlora/payments/payment-gate.ts';

const [url, dataDir, modelIdText, payerIndex, countText] = process.argv.slice(2);
if (!url || !dataDir || !modelIdText || !payerIndex || !countText) {
  throw new Error('usage: payments-crash-child.ts <rpcUrl> <dataDir> <modelId> <payerIndex> <count>');
}
const modelId = BigInt(modelIdText);
const gate = await PaymentGate.open({ connection: await account(url, 2), dataDir, priceWatchIntervalMs: 0 });
const client = new PayingClient({ connection: await account(url, Number(payerIndex)), node: gate.node });
let owed = 0n;
for (let i = 0; i < Number(countText); i++) {
  const result = await gate.authorize({
    headers: await client.headers(modelId),
    modelId,
    promptTokens: 100 + i,
    maxTokens: 50,
  });
  if (!result.ok) throw new Error(`request ${i} refused: ${result.message}`);
  const done = await result.complete({ promptTokens: 100 + i, completionTokens: 17 + i });
  client.learn(modelId, done.headers);
  owed = done.owed;
}
process.stdout.write(`COMPLETED ${owed}\n`);
// Wait for SIGKILL with the database open, as a serving process would be.
setInterval(() => undefined, 60_000);
