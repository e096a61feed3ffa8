/**
 * Durability benchmark (issue "kill -9 ... state what acknowledged means and measure its
 * cost"): ingest rate with the store's default writes (one atomic LevelDB batch handed to the
 * OS: survives kill -9) against `storeSync: true` (each batch also fsynced: survives power
 * loss), on the two paths an acknowledgement takes:
 *   - one envelope per write: an API or CLI import, a locally attested build;
 *   - batches of 250: sync rounds and bulk import (gossip's WriteQueue batches what arrives together).
 * Every envelope is parsed, verified and stored, as in bench/ingest.ts. The store is put in
 * `dir` (default the OS temp dir): measure on the disk a node really uses, as fsync is what
 * costs and a tmpfs makes it free.
 * Run: node bench/durability.ts [count] [dir]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAttestation } from '../protocol/attestation.ts';
import { AttestationStore } from '../store/store.ts';
import { ingestBatches } from '../daemon/ingest.ts';
import { inlineVerifier } from '../daemon/verify-pool.ts';
import { numberedEnvelopes, policyOf, signers } from '../test/helpers/fixtures.ts';

const count = Number(process.argv[2] ?? 2000);
const dir = mkdtempSync(join(process.argv[3] ?? tmpdir(), 'stagex-durability-'));
const keys = signers(10);
const policy = policyOf(7, keys);
const BATCH = 250;
console.log(`making ${count} envelopes signed by 10 keys; stores in ${dir}`);
const envelopes = numberedEnvelopes(keys, count);
const batches = Array.from({ length: Math.ceil(count / BATCH) }, (_, i) => envelopes.slice(i * BATCH, (i + 1) * BATCH));

let round = 0;
/** Envelopes per second of `ingest` into a fresh store opened with `sync`, best of three. */
async function rate(label: string, sync: boolean, ingest: (store: AttestationStore) => Promise<void>): Promise<number> {
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const store = await AttestationStore.open(join(dir, `db${round++}`), { sync });
    const start = process.hrtime.bigint();
    await ingest(store);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if ((await store.count()) !== count) throw new Error(`${label}: stored ${await store.count()} of ${count}`);
    await store.close();
    best = Math.max(best, count / seconds);
  }
  console.log(`${label.padEnd(48)} ${Math.round(best).toString().padStart(8)} /s`);
  return best;
}

const one = async (store: AttestationStore) => {
  for (const bytes of envelopes) await store.put(readAttestation(bytes, policy, 'bench'));
};
const batched = async (store: AttestationStore) => {
  await ingestBatches(batches, store, inlineVerifier(policy), 'bench');
};
const oneAsync = await rate('one envelope per write, not synced (default)', false, one);
const oneSync = await rate('one envelope per write, fsynced (storeSync)', true, one);
const batchAsync = await rate(`batches of ${BATCH}, not synced (default)`, false, batched);
const batchSync = await rate(`batches of ${BATCH}, fsynced (storeSync)`, true, batched);
rmSync(dir, { recursive: true, force: true });
console.log(`cost of fsync, one per write:   synced / not synced = ${(oneSync / oneAsync).toFixed(2)}`);
console.log(`cost of fsync, batches of ${BATCH}: synced / not synced = ${(batchSync / batchAsync).toFixed(2)}`);
