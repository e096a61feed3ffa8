/**
 * Manifest verdict benchmark: the 433-entry StageX 2025.10.0 release manifest with 10 signers
 * on every entry (4,330 envelopes already in the store); target < 20 ms, store reads included.
 * Run: node bench/verdict.ts
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readAttestation } from '../protocol/attestation.ts';
import { AttestationStore } from '../store/store.ts';
import { verifyManifest } from '../store/queries.ts';
import { readManifest } from '../daemon/manifest-files.ts';
import { envelopeBytes, hex64, policyOf, signers } from '../test/helpers/fixtures.ts';
import { STAGEX_DIGESTS } from '../test/helpers/shared.ts';

const entries = await readManifest(STAGEX_DIGESTS);
const keys = signers(10);
const policy = policyOf(7, keys);
const dir = mkdtempSync(join(tmpdir(), 'stagex-verdict-'));
let store = await AttestationStore.open(join(dir, 'db'));
console.log(`storing ${entries.length * keys.length} envelopes (${entries.length} entries x ${keys.length} signers)...`);
await store.putMany(entries.flatMap((e) => keys.map((k) => readAttestation(
  envelopeBytes(k, { image: e.image, package: e.image, inputDigest: hex64(`in ${e.image}`), digest: e.digest }), policy, 'bench'))));

await store.close();
store = await AttestationStore.open(join(dir, 'db'));
const times: number[] = [];
for (let i = 0; i < 30; i++) {
  const start = process.hrtime.bigint();
  const verdict = await verifyManifest(store, policy, entries);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (!verdict.trusted) throw new Error('expected a trusted manifest');
}
const sorted = [...times].sort((a, b) => a - b);
console.log(`manifest verdict, ${entries.length} entries, ${entries.length * keys.length} envelopes`);
console.log(`  first run after reopen ${times[0]!.toFixed(1)} ms, median ${sorted[15]!.toFixed(1)} ms, best ${sorted[0]!.toFixed(1)} ms (target < 20 ms)`);
await store.close();
rmSync(dir, { recursive: true, force: true });
