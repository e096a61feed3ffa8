/**
 * Catch-up benchmark (issue: a daemon offline while 100,000 attestations were made rejoins).
 * Daemon A holds N envelopes; daemon B starts empty with A as its bootstrap peer. Measured:
 * time until B has verified and stored all N (from B's start, and from its first answer),
 * and B's sync bytes received as a ratio to the bytes of the envelopes it lacked.
 * Targets: < 10 s and < 1.05. Run: node bench/catchup.ts [N]
 */
import { health, makeCluster, startMember, status, stopMember, until } from '../scripts/local-network.ts';
import { fillStore } from './fill-store.ts';
import { tempDir } from '../test/helpers/tmp.ts';

const N = Number(process.argv[2] ?? 100_000);
const [a, b] = await makeCluster(tempDir('stagex-catchup'), ['a', 'b'], 1, { networkId: 'bench' });

console.log(`making ${N} attestations in a's store...`);
const bytes = await fillStore(a!, [a!, b!], N);
console.log(`${N} envelopes, ${(bytes / 1e6).toFixed(1)} MB`);

startMember(a!);
await until('a answers', async () => (await status(a!)) !== undefined, 30_000);
const started = performance.now();
startMember(b!, ['--log-level', 'debug']);
let answered = 0;
await until('b stored everything', async () => {
  const h = await health(b!);
  if (h && !answered) answered = performance.now();
  return h?.envelopes === N;
}, 300_000);
const done = performance.now();
const s = await status(b!);
await Promise.all([stopMember(a!), stopMember(b!)]);
if (process.env.SHOW_LOG) console.log(b!.log.map((l) => l.slice(0, 160)).join("\n"));
console.log(`catch-up of ${N} envelopes: ${((done - started) / 1000).toFixed(2)} s from b's process start, ${((done - answered) / 1000).toFixed(2)} s from its first answer (target < 10 s)`);
console.log(`sync bytes received ${(s.sync.bytesIn / 1e6).toFixed(1)} MB + sent ${(s.sync.bytesOut / 1e6).toFixed(2)} MB, envelopes ${(bytes / 1e6).toFixed(1)} MB: ratio ${((s.sync.bytesIn + s.sync.bytesOut) / bytes).toFixed(3)} (target < 1.05)`);
