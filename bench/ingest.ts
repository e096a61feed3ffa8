/**
 * Ingest benchmark (issue 11): envelopes (~1.35 KB, 10 signers) parsed, verified, validated and
 * stored in LevelDB, as a ratio to the anchor, bare node:crypto ed25519 verify of the same PAE
 * messages on one core. Three stages, each round running all three in turn (A/B within the same
 * minute), best of the rounds:
 *   anchor     bare verify, one core
 *   one core   ingestBatches with the inline verifier (verify and store on the main thread)
 *   two cores  ingestBatches with a VerifyPool of 2 workers (the main thread stores)
 * Targets: one core >= 0.8, two cores >= 1.5 (limit 2.0). Also printed: CPU time per envelope
 * in us of every thread of the process (process.cpuUsage: main, workers, LevelDB's) and of the
 * main thread alone (process.threadCpuUsage), which depend less on other load than rates do.
 * Run: node bench/ingest.ts [count, default 5000] [rounds, default 3] [--force]
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseEnvelope, preAuthEncoding } from '../protocol/dsse.ts';
import { fromBase64 } from '../protocol/encoding.ts';
import { AttestationStore } from '../store/store.ts';
import { ingestBatches } from '../daemon/ingest.ts';
import { inlineVerifier, VerifyPool, type BatchVerifier } from '../daemon/verify-pool.ts';
import { numberedEnvelopes, policyOf, signers } from '../test/helpers/fixtures.ts';
import { quietMachine } from './quiet.ts';

const { mark } = quietMachine();
const [count, rounds] = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number) as [number?, number?];
const COUNT = count ?? 5000;
const ROUNDS = rounds ?? 3;
const BATCH = 250;
const keys = signers(10);
const policy = policyOf(7, keys);
const envelopes = numberedEnvelopes(keys, COUNT);
const size = Math.round(envelopes.reduce((n, e) => n + e.length, 0) / COUNT);
console.log(`${COUNT} envelopes of ~${size} bytes signed by 10 keys, batches of ${BATCH}, best of ${ROUNDS} alternated rounds, Node ${process.version}`);

const spki = (pub: Uint8Array) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });
const keyObjects = keys.map((k) => spki(k.publicKey));
const messages = envelopes.map((bytes, i) => {
  const env = parseEnvelope(bytes, 'bench');
  return { key: keyObjects[i % 10]! as KeyObject, pae: preAuthEncoding(env.payloadType, fromBase64(env.payload, 'p')), sig: fromBase64(env.signatures[0]!.sig, 's') };
});
const batches = Array.from({ length: Math.ceil(COUNT / BATCH) }, (_, i) => envelopes.slice(i * BATCH, (i + 1) * BATCH));
const dir = mkdtempSync(join(tmpdir(), 'stagex-bench-ingest-'));
/** The pool's workers are unref'd (a daemon's other handles keep it alive): this timer keeps the bench alive. */
const alive = setInterval(() => undefined, 60_000);
const pool = new VerifyPool({ threshold: 7, keys: keys.map((k, i) => ({ name: `k${i}`, publicKey: k.publicKey })) }, 2);
await pool.verify(envelopes.slice(0, 64), 'warm-up');

/** Best rate, and lowest CPU time per envelope: all threads (main, workers, LevelDB's), main thread. */
interface Best { rate: number; cpu: number; main: number }
const best = { anchor: { rate: 0, cpu: Infinity, main: Infinity }, one: { rate: 0, cpu: Infinity, main: Infinity }, two: { rate: 0, cpu: Infinity, main: Infinity } };

/** Runs once, keeping the best rate and the lowest CPU time per envelope. */
async function measure(into: Best, run: () => void | Promise<void>): Promise<void> {
  const cpu = process.cpuUsage();
  const main = process.threadCpuUsage();
  const start = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const usedMain = process.threadCpuUsage(main);
  into.rate = Math.max(into.rate, COUNT / seconds);
  into.cpu = Math.min(into.cpu, (used.user + used.system) / COUNT);
  into.main = Math.min(into.main, (usedMain.user + usedMain.system) / COUNT);
}

async function ingest(verifier: BatchVerifier, name: string, inFlight?: number): Promise<void> {
  const store = await AttestationStore.open(join(dir, name));
  const counts = await ingestBatches(batches, store, verifier, 'bench', inFlight);
  await store.close();
  if (counts.added !== COUNT) throw new Error(`${name}: stored ${counts.added} of ${COUNT}`);
}

try {
  for (let round = 0; round < ROUNDS; round++) {
    await measure(best.anchor, () => {
      for (const m of messages) if (!verify(null, m.pae, m.key, m.sig)) throw new Error('bad');
    });
    await measure(best.one, () => ingest(inlineVerifier(policy), `one-${round}`));
    await measure(best.two, () => ingest(pool.verify, `two-${round}`, 3));
  }
} finally {
  await pool.close();
  clearInterval(alive);
  rmSync(dir, { recursive: true, force: true });
}
const rows: [string, Best, string][] = [
  ['anchor: bare node:crypto verify, one core', best.anchor, ''],
  ['one core: parse, verify, validate, store', best.one, '  (target >= 0.8)'],
  ['two cores: 2 verify workers, main stores', best.two, '  (target >= 1.5, limit 2.0)'],
];
for (const [label, b, target] of rows) {
  console.log(`${label.padEnd(44)} ${Math.round(b.rate).toLocaleString('en').padStart(7)} /s  ratio ${(b.rate / best.anchor.rate).toFixed(2)}  CPU us/envelope: all threads ${b.cpu.toFixed(1).padStart(5)}, main ${b.main.toFixed(1).padStart(5)}${target}${mark}`);
}
