/**
 * CPU per envelope of each stage of the validation pipeline beside the ed25519 verify it
 * surrounds (issue 11), on one core: the anchor (bare node:crypto verify of the same PAE) and
 * each stage in microseconds of this thread's CPU (process.threadCpuUsage), best of alternated
 * rounds, with the stage's share of the anchor. Over the same ~1.35 KB envelopes as
 * bench/ingest.ts. What is left beside verify is what these stages add up to, plus the store.
 * Run: node bench/envelope-stages.ts [count, default 2000] [rounds, default 3] [--force]
 */
import { createPublicKey, verify } from 'node:crypto';
import { readAttestation } from '../protocol/attestation.ts';
import { canonicalBytes, envelopeHash, parseEnvelope, preAuthEncoding } from '../protocol/dsse.ts';
import { fromBase64 } from '../protocol/encoding.ts';
import { parseStatement } from '../protocol/statement.ts';
import { numberedEnvelopes, policyOf, signers } from '../test/helpers/fixtures.ts';
import { quietMachine } from './quiet.ts';

const { mark } = quietMachine();
const [count, rounds] = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number) as [number?, number?];
const COUNT = count ?? 2000;
const ROUNDS = rounds ?? 3;
const keys = signers(10);
const policy = policyOf(7, keys);
const envelopes = numberedEnvelopes(keys, COUNT);
const parsed = envelopes.map((bytes) => parseEnvelope(bytes, 'bench'));
const payloads = parsed.map((e) => fromBase64(e.payload, 'payload'));
const sigs = parsed.map((e) => ({ keyid: e.signatures[0]!.keyid!, sig: fromBase64(e.signatures[0]!.sig, 'sig') }));
const paes = parsed.map((e, i) => preAuthEncoding(e.payloadType, payloads[i]!));
const spki = (pub: Uint8Array) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });
const keyObjects = keys.map((k) => spki(k.publicKey));

const stages: [string, (i: number) => unknown][] = [
  ['anchor: bare node:crypto verify', (i) => verify(null, paes[i]!, keyObjects[i % 10]!, sigs[i]!.sig)],
  ['readAttestation (the whole pipeline)', (i) => readAttestation(envelopes[i]!, policy, 'bench')],
  ['envelope JSON + zod (parseEnvelope)', (i) => parseEnvelope(envelopes[i]!, 'bench')],
  ['base64 payload + sig (fromBase64)', (i) => [fromBase64(parsed[i]!.payload, 'p'), fromBase64(parsed[i]!.signatures[0]!.sig, 's')]],
  ['PAE (preAuthEncoding)', (i) => preAuthEncoding(parsed[i]!.payloadType, payloads[i]!)],
  ['statement JSON + zod (parseStatement)', (i) => parseStatement(payloads[i]!, 'bench')],
  ['canonical bytes (canonicalBytes)', (i) => canonicalBytes(parsed[i]!.payloadType, payloads[i]!, [sigs[i]!])],
  ['sha256 (envelopeHash)', (i) => envelopeHash(envelopes[i]!)],
];
const REPEAT = 20;
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, stage] of stages) {
    for (let i = 0; i < Math.min(COUNT, 200); i++) stage(i);
    // Thread CPU time is counted in ticks: the stages of a few us run REPEAT times to span many.
    const repeat = name === stages[0]![0] || name === stages[1]![0] ? 1 : REPEAT;
    const cpu = process.threadCpuUsage();
    for (let r = 0; r < repeat; r++) for (let i = 0; i < COUNT; i++) stage(i);
    const used = process.threadCpuUsage(cpu);
    best.set(name, Math.min(best.get(name) ?? Infinity, (used.user + used.system) / (COUNT * repeat)));
  }
}
const anchor = best.get(stages[0]![0])!;
console.log(`${COUNT} envelopes of ~${Math.round(envelopes.reduce((n, e) => n + e.length, 0) / COUNT)} bytes, best of ${ROUNDS} alternated rounds, CPU us per envelope (this thread)`);
for (const [name] of stages) {
  const us = best.get(name)!;
  console.log(`${name.padEnd(40)} ${us.toFixed(2).padStart(7)} us  ${((100 * us) / anchor).toFixed(1).padStart(5)} % of the anchor${mark}`);
}
console.log(`beside the verify (readAttestation - anchor): ${(best.get(stages[1]![0])! - anchor).toFixed(1)} us${mark}`);
