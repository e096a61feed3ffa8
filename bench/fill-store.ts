/**
 * Fills a member's store with N attestations signed by its own key, for the catch-up and memory
 * benchmarks: N distinct build identities (`core-p<i>`), one vote each, written in batches
 * straight into LevelDB (the daemon is stopped). Signing goes through node:crypto only to make
 * the data set fast (noble signs ~3k/s); the store still verifies nothing here.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { join } from 'node:path';
import { readAttestation } from '../protocol/attestation.ts';
import { encodeEnvelope } from '../protocol/dsse.ts';
import { fromHex } from '../protocol/encoding.ts';
import { decodePrivateKeyPem, keyidOf, publicKeyFromSeed, type SeedSigner } from '../protocol/keys.ts';
import { buildStatement, PAYLOAD_TYPE } from '../protocol/statement.ts';
import { compileTrust } from '../protocol/trust.ts';
import { AttestationStore } from '../store/store.ts';
import { readKeyFile } from '../daemon/keyfile.ts';
import type { Member } from '../scripts/local-network.ts';
import { envelopeNow, facts, hex64 } from '../test/helpers/fixtures.ts';

async function fastSigner(keyFile: string): Promise<SeedSigner> {
  const seed = decodePrivateKeyPem(await readKeyFile(keyFile), keyFile);
  const key = createPrivateKey(await readKeyFile(keyFile));
  const publicKey = publicKeyFromSeed(seed);
  const signNow = (message: Uint8Array) => new Uint8Array(sign(null, message, key));
  return { publicKey, keyid: keyidOf(publicKey), signNow, sign: async (message) => signNow(message) };
}

/** Writes N envelopes signed by `owner` into its store; returns their total bytes. */
export async function fillStore(owner: Member, trusted: readonly Member[], n: number): Promise<number> {
  const signer = await fastSigner(join(owner.dir, 'signing-key.pem'));
  const policy = compileTrust({ threshold: 1, keys: trusted.map((m) => ({ name: m.name, publicKey: fromHex(m.publicKey, m.name, 32) })) });
  const store = await AttestationStore.open(join(owner.dir, 'store'));
  let bytes = 0;
  for (let i = 0; i < n; i += 5000) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 5000); j++) {
      const payload = new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts({ image: `core-p${j}`, inputDigest: hex64(`in ${j}`), digest: hex64(`out ${j}`) })))));
      const envelope = encodeEnvelope(envelopeNow(PAYLOAD_TYPE, payload, [signer]));
      bytes += envelope.length;
      batch.push(readAttestation(envelope, policy, 'bench'));
    }
    await store.putMany(batch);
  }
  await store.close();
  return bytes;
}
