/**
 * ed25519 verify paths on one core over 1 KB messages: bare node:crypto (cached KeyObject), the
 * project's fast path (node:crypto + key and S checks), the reference rule, and noble's verify.
 * Run: node bench/verify.ts [count]
 */
import { createPublicKey, verify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { createVerifier, verifyReference } from '../protocol/ed25519.ts';
import { createSeedSigner } from '../protocol/keys.ts';

const count = Number(process.argv[2] ?? 3000);
const signer = createSeedSigner(new Uint8Array(32).fill(1));
const messages = Array.from({ length: count }, (_, i) => new Uint8Array(1024).fill(i % 251));
const signatures = messages.map((m) => signer.sign(m));
const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), signer.publicKey]), format: 'der', type: 'spki' });
const fast = createVerifier(signer.publicKey);

function rate(label: string, n: number, check: (i: number) => boolean): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (!check(i)) throw new Error(`${label}: signature ${i} rejected`);
  const perSecond = n / (Number(process.hrtime.bigint() - start) / 1e9);
  return perSecond;
}
const bare = rate('bare', count, (i) => verify(null, messages[i]!, key, signatures[i]!));
const results: [string, number][] = [
  ['bare node:crypto (cached KeyObject)', bare],
  ['stagex fast path (createVerifier)', rate('fast', count, (i) => fast(messages[i]!, signatures[i]!))],
  ['reference rule (noble points)', rate('reference', Math.min(count, 300), (i) => verifyReference(signer.publicKey, messages[i]!, signatures[i]!))],
  ['@noble/ed25519 verify (zip215: false)', rate('noble', Math.min(count, 300), (i) => ed.verify(signatures[i]!, messages[i]!, signer.publicKey, { zip215: false }))],
];
for (const [label, perSecond] of results) console.log(`${label.padEnd(40)} ${Math.round(perSecond).toString().padStart(7)} /s  ratio ${(perSecond / bare).toFixed(2)}`);
