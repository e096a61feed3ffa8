/**
 * Where the one-core ingest pipeline's CPU goes (issue 11): profiles (node:inspector) only
 * the inline pipeline of bench/ingest.ts, parse, verify, validate and store, not the signing
 * of the fixtures, and prints the self time per envelope by area. Figures are shares of CPU
 * time, which the machine's load changes less than rates.
 * Run: node bench/ingest-split.ts [count, default 5000] [--force]
 */
import { Session, type Runtime } from 'node:inspector/promises';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AttestationStore } from '../store/store.ts';
import { ingestBatches } from '../daemon/ingest.ts';
import { inlineVerifier } from '../daemon/verify-pool.ts';
import { numberedEnvelopes, policyOf, signers } from '../test/helpers/fixtures.ts';
import { quietMachine } from './quiet.ts';

const { mark } = quietMachine();
const COUNT = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 5000);
const BATCH = 250;
const keys = signers(10);
const policy = policyOf(7, keys);
const envelopes = numberedEnvelopes(keys, COUNT);
const batches = Array.from({ length: Math.ceil(COUNT / BATCH) }, (_, i) => envelopes.slice(i * BATCH, (i + 1) * BATCH));
const dir = mkdtempSync(join(tmpdir(), 'stagex-bench-split-'));

/** The area a function's self time counts for, by its name and file. */
function area({ functionName: fn, url }: Runtime.CallFrame): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)' || fn === '(idle)') return fn;
  if (url.includes('node:inspector')) return '(profiler)';
  if (fn === 'run' || fn === 'SignJob' || fn === 'verifyOneShot' || url.includes('protocol/ed25519')) return 'ed25519 verify';
  if (url.includes('/zod/')) return 'zod';
  if (fn === 'parse' && url === '') return 'JSON.parse';
  if (fn === 'stringify' && url === '') return 'JSON.stringify';
  if (url.includes('crypto/hash') || fn === 'sha256Hex' || fn === 'envelopeHash') return 'sha256';
  if (/base64|fromBase64|toBase64|RegExp/.test(fn)) return 'base64 (and regexes)';
  if (url.includes('level') || url.includes('/store/')) return 'store (main thread)';
  const file = url.split('/').slice(-2).join('/');
  return file ? `other JS: ${file}` : `native: ${fn}`;
}

/** The pipeline's steps whose time with callees is printed. */
const STEPS = ['readAttestation', 'parseEnvelope', 'verifyEnvelope', 'parseStatement', 'canonicalBytes', 'envelopeHash', 'fromBase64', 'preAuthEncoding', 'putMany', '#putMany'];

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 250 });
const store = await AttestationStore.open(join(dir, 'one'));
await ingestBatches(batches.slice(0, 2), store, inlineVerifier(policy), 'warm-up');
await session.post('Profiler.start');
const cpu = process.threadCpuUsage();
const counts = await ingestBatches(batches.slice(2), store, inlineVerifier(policy), 'bench');
const used = process.threadCpuUsage(cpu);
const { profile } = await session.post('Profiler.stop');
await store.close();
rmSync(dir, { recursive: true, force: true });
const n = counts.added;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const self = new Map<string, number>();
/** Time inside the pipeline's own steps, callees included (a step inside another counts for both). */
const inclusive = new Map<string, number>();
profile.samples!.forEach((id, i) => {
  const dt = profile.timeDeltas![i]!;
  const a = area(byId.get(id)!.callFrame);
  self.set(a, (self.get(a) ?? 0) + dt);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const fn = byId.get(at)!.callFrame.functionName;
    if (STEPS.includes(fn) && !seen.has(fn)) {
      seen.add(fn);
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + dt);
    }
  }
});
self.delete('(idle)');
self.delete('(profiler)');
const total = [...self.values()].reduce((x, y) => x + y, 0);
const mainUs = (used.user + used.system) / n;
console.log(`${n} envelopes, main thread CPU ${mainUs.toFixed(1)} us per envelope (process.threadCpuUsage)${mark}`);
for (const [name, t] of [...self].sort((x, y) => y[1] - x[1]).slice(0, 16)) {
  console.log(`  ${name.padEnd(40)} ${((100 * t) / total).toFixed(1).padStart(5)} %  ${((mainUs * t) / total).toFixed(1).padStart(6)} us`);
}
console.log('  steps, callees included:');
for (const step of STEPS) console.log(`  ${step.padEnd(40)} ${((100 * (inclusive.get(step) ?? 0)) / total).toFixed(1).padStart(5)} %  ${((mainUs * (inclusive.get(step) ?? 0)) / total).toFixed(1).padStart(6)} us`);
