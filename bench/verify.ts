/**
 * ed25519 verify paths on one core, over signed ~1 KB messages, as ratios to bare node:crypto
 * with a cached KeyObject: the project's fast path (protocol/ed25519.ts createVerifier: key
 * checked once, length, S < L and identity-R checks, node:crypto), the reference rule, and
 * @noble/ed25519's own verify. The last line is the fast path's cost on signatures whose R is
 * the identity, which it decides with point arithmetic (what a flood of such forgeries costs).
 * Bare and fast path: best of three alternating rounds (this machine is shared and noisy); the
 * reference rule runs on the first 1,000 messages only (it takes ~3 ms each).
 * Run: node bench/verify.ts [count, default 10000]
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { createVerifier, verifyReference } from '../protocol/ed25519.ts';
import { createSeedSigner } from '../protocol/keys.ts';

const count = Number(process.argv[2] ?? 10_000);
const signer = createSeedSigner(randomBytes(32));
const messages = Array.from({ length: count }, () => randomBytes(1024));
const signatures = messages.map((m) => signer.signNow(m));
const keyObject = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), signer.publicKey]), format: 'der', type: 'spki' });
const fast = createVerifier(signer.publicKey);
const identityR = signatures.slice(0, Math.min(count, 1000)).map((s) => Uint8Array.of(1, ...new Uint8Array(31), ...s.subarray(32)));

/** Verifies/s over the first n messages, after a short warm-up; every answer is checked. */
function rate(label: string, n: number, check: (i: number) => boolean, expected = true): number {
  for (let i = 0; i < Math.min(n, 200); i++) check(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (check(i) !== expected) throw new Error(`${label}: unexpected answer for signature ${i}`);
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

let bare = 0;
let fastest = 0;
for (let round = 0; round < 3; round++) {
  bare = Math.max(bare, rate('bare', count, (i) => verify(null, messages[i]!, keyObject, signatures[i]!)));
  fastest = Math.max(fastest, rate('fast', count, (i) => fast(messages[i]!, signatures[i]!)));
}
const rows: [string, number][] = [
  ['bare node:crypto (cached KeyObject)', bare],
  ['stagex fast path (createVerifier)', fastest],
  ['reference rule (verifyReference)', rate('reference', Math.min(count, 1000), (i) => verifyReference(signer.publicKey, messages[i]!, signatures[i]!))],
  ['@noble/ed25519 verify (zip215: false)', rate('noble', count, (i) => ed.verify(signatures[i]!, messages[i]!, signer.publicKey, { zip215: false }))],
  ['fast path, forged identity-R signatures', rate('identity R', identityR.length, (i) => fast(messages[i]!, identityR[i]!), false)],
];
console.log(`${count} messages of 1024 bytes, one core, Node ${process.version}, OpenSSL ${process.versions.openssl}`);
for (const [label, perSecond] of rows) {
  console.log(`${label.padEnd(42)} ${Math.round(perSecond).toLocaleString('en').padStart(7)} /s  ratio ${(perSecond / bare).toFixed(3)}`);
}
