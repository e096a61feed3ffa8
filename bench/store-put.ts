/**
 * The gossip path's store write (issue 11): one envelope per putMany, one after the other, into
 * a store already holding `fill` envelopes; then 1,000 of them again (present). Prints the wall
 * time of an added put (p50, p99), and wall and CPU time (all threads, main thread) per put.
 * Run: node bench/store-put.ts [fill, default 10000] [puts, default 3000] [--force]
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readAttestation } from '../protocol/attestation.ts';
import { AttestationStore } from '../store/store.ts';
import { numberedEnvelopes, policyOf, signers } from '../test/helpers/fixtures.ts';
import { quietMachine } from './quiet.ts';

const { mark } = quietMachine();

const [fill = 10000, puts = 3000] = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
const keys = signers(10);
const policy = policyOf(7, keys);
const read = (bytes: Uint8Array) => readAttestation(bytes, policy, 'bench');
const filling = numberedEnvelopes(keys, fill).map(read);
const single = numberedEnvelopes(keys, puts, fill).map(read);
const dir = mkdtempSync(join(tmpdir(), 'stagex-bench-put-'));
const store = await AttestationStore.open(join(dir, 's'));
for (let i = 0; i < fill; i += 250) await store.putMany(filling.slice(i, i + 250));
const walls: number[] = [];
const cpu = process.cpuUsage();
const main = process.threadCpuUsage();
const start = process.hrtime.bigint();
for (const a of single) {
  const t = process.hrtime.bigint();
  const [r] = await store.putMany([a]);
  if (r !== 'added') throw new Error(String(r));
  walls.push(Number(process.hrtime.bigint() - t) / 1000);
}
for (const a of single.slice(0, 1000)) if ((await store.putMany([a]))[0] !== 'present') throw new Error('not present');
const total = Number(process.hrtime.bigint() - start) / 1e3;
const used = process.cpuUsage(cpu);
const usedMain = process.threadCpuUsage(main);
walls.sort((a, b) => a - b);
const n = puts + 1000;
console.log(`added p50 ${walls[Math.floor(puts / 2)]!.toFixed(0)} us p99 ${walls[Math.floor(puts * 0.99)]!.toFixed(0)} us; all ${n} puts: wall ${(total / n).toFixed(1)} us, CPU all threads ${((used.user + used.system) / n).toFixed(1)} us, main ${((usedMain.user + usedMain.system) / n).toFixed(1)} us${mark}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
