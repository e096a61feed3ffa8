/**
 * Ingest benchmark (issue: envelopes verified, validated and stored per second on one core, as
 * a ratio to bare node:crypto ed25519 verify of the same messages; target >= 0.8).
 * Run: node bench/ingest.ts [count]
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseEnvelope, preAuthEncoding } from '../protocol/dsse.ts';
import { fromBase64 } from '../protocol/encoding.ts';
import { readAttestation } from '../protocol/attestation.ts';
import { AttestationStore } from '../store/store.ts';
import { ingestBatches } from '../daemon/ingest.ts';
import { inlineVerifier } from '../daemon/verify-pool.ts';
import { envelopeBytes, hex64, policyOf, signers } from '../test/helpers/fixtures.ts';

const count = Number(process.argv[2] ?? 5000);
const keys = signers(10);
const policy = policyOf(7, keys);
console.log(`making ${count} envelopes signed by 10 keys...`);
const envelopes = Array.from({ length: count }, (_, i) => envelopeBytes(keys[i % 10]!, { image: `core-pkg${i}`, inputDigest: hex64(`in ${i}`), digest: hex64(`out ${i}`) }));

const spki = (pub: Uint8Array) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });
const keyObjects = keys.map((k) => spki(k.publicKey));
const messages = envelopes.map((bytes, i) => {
  const env = parseEnvelope(bytes, 'bench');
  return { key: keyObjects[i % 10]! as KeyObject, pae: preAuthEncoding(env.payloadType, fromBase64(env.payload, 'p')), sig: fromBase64(env.signatures[0]!.sig, 's') };
});

function rate(label: string, run: () => void | Promise<void>): Promise<number> {
  return (async () => {
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const start = process.hrtime.bigint();
      await run();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      best = Math.max(best, count / seconds);
    }
    console.log(`${label.padEnd(44)} ${Math.round(best).toString().padStart(8)} /s`);
    return best;
  })();
}

const bare = await rate('bare node:crypto verify (cached KeyObject)', () => {
  for (const m of messages) if (!verify(null, m.pae, m.key, m.sig)) throw new Error('bad');
});
const pipeline = await rate('pipeline: parse + verify + statement (no store)', () => {
  for (const bytes of envelopes) readAttestation(bytes, policy, 'bench');
});
const dir = mkdtempSync(join(tmpdir(), 'stagex-bench-'));
let round = 0;
const BATCH = 250;
const batches = Array.from({ length: Math.ceil(count / BATCH) }, (_, i) => envelopes.slice(i * BATCH, (i + 1) * BATCH));
const stores = await Promise.all([0, 1, 2].map((i) => AttestationStore.open(join(dir, `db${i}`))));
const stored = await rate(`pipeline + store (batches of ${BATCH}, pipelined)`, async () => {
  const counts = await ingestBatches(batches, stores[round++]!, inlineVerifier(policy), 'bench');
  if (counts.added !== count) throw new Error(`stored ${counts.added} of ${count}`);
});
await Promise.all(stores.map((s) => s.close()));
rmSync(dir, { recursive: true, force: true });
console.log(`ratio pipeline / bare verify:          ${(pipeline / bare).toFixed(2)}`);
console.log(`ratio pipeline+store / bare verify:    ${(stored / bare).toFixed(2)}  (target >= 0.8)`);
