/**
 * Catch-up benchmark (issue: a daemon offline while 100,000 attestations were made rejoins).
 * Daemon A holds N envelopes; daemon B starts empty with A as its bootstrap peer. Measured:
 * time until B has verified and stored all N (from B's start, and from its first answer),
 * and B's sync bytes received as a ratio to the bytes of the envelopes it lacked.
 * Targets: < 10 s and < 1.05. Run: node bench/catchup.ts [N]
 */
import { createPrivateKey, sign } from 'node:crypto';
import { join } from 'node:path';
import { readAttestation } from '../protocol/attestation.ts';
import { encodeEnvelope } from '../protocol/dsse.ts';
import { buildStatement, PAYLOAD_TYPE } from '../protocol/statement.ts';
import { fromHex } from '../protocol/encoding.ts';
import { decodePrivateKeyPem, publicKeyFromSeed, keyidOf, type SeedSigner } from '../protocol/keys.ts';
import { compileTrust } from '../protocol/trust.ts';
import { AttestationStore } from '../store/store.ts';
import { readKeyFile } from '../daemon/keyfile.ts';
import { health, makeCluster, startMember, status, stopMember, until } from '../scripts/local-network.ts';
import { envelopeNow, facts, hex64 } from '../test/helpers/fixtures.ts';
import { tempDir } from '../test/helpers/tmp.ts';

const N = Number(process.argv[2] ?? 100_000);
const [a, b] = await makeCluster(tempDir('stagex-catchup'), ['a', 'b'], 1, { networkId: 'bench' });

/** A node:crypto signer for A's key: only to make the data set fast (noble signs ~3k/s). */
async function fastSigner(keyFile: string): Promise<SeedSigner> {
  const seed = decodePrivateKeyPem(await readKeyFile(keyFile), keyFile);
  const key = createPrivateKey(await readKeyFile(keyFile));
  const publicKey = publicKeyFromSeed(seed);
  const signNow = (message: Uint8Array) => new Uint8Array(sign(null, message, key));
  return { publicKey, keyid: keyidOf(publicKey), signNow, sign: async (message) => signNow(message) };
}

console.log(`making ${N} attestations in a's store...`);
const signer = await fastSigner(join(a!.dir, 'signing-key.pem'));
const policy = compileTrust({ threshold: 1, keys: [{ name: 'a', publicKey: fromHex(a!.publicKey, 'a', 32) }, { name: 'b', publicKey: fromHex(b!.publicKey, 'b', 32) }] });
const store = await AttestationStore.open(join(a!.dir, 'store'));
let bytes = 0;
for (let i = 0; i < N; i += 5000) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 5000); j++) {
    const payload = new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts({ image: `core-p${j}`, inputDigest: hex64(`in ${j}`), digest: hex64(`out ${j}`) })))));
    const envelope = encodeEnvelope(envelopeNow(PAYLOAD_TYPE, payload, [signer]));
    bytes += envelope.length;
    batch.push(readAttestation(envelope, policy, 'bench'));
  }
  await store.putMany(batch);
}
await store.close();
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
