/**
 * StageX signature files as `signatures import` checks each one (daemon/signature-import.ts):
 * the lookaside path (protocol/stagex-signature.ts parseSignaturePath), the OpenPGP signed
 * message against the configured certificates (daemon/openpgp.ts checkSignatureFile), then the
 * simple-signing payload (parsePayload). Inputs: the real StageX files of
 * ../shared/stagex-signatures-2025-06 (signers not configured here) truncated, bit-flipped and
 * spliced; files signed here by a configured ed25519 key with a signing subkey over valid
 * payloads of both variants and over payloads with fields dropped, retyped or nested deep (so
 * the payload parser is reached past a valid signature); armored forms; random bytes; odd
 * paths.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as openpgp from 'openpgp';
import { checkSignatureFile, type Keyring } from '../../../daemon/openpgp.ts';
import { buildPayload, parsePayload, parseSignaturePath, type SignaturePayload } from '../../../protocol/stagex-signature.ts';
import { imageNameSchema, sha256HexSchema } from '../../../protocol/statement.ts';
import { deepJsonText, mutatedBytes, mutatedJson, randomBytes, type FuzzTarget } from '../harness.ts';

const SHARED = fileURLToPath(new URL('../../../../shared/stagex-signatures-2025-06/signatures/stagex', import.meta.url));
const HEX = 'ab'.repeat(32);
const PATH = `core-busybox@sha256=${HEX}/signature-1`;
const NOW = new Date('2026-12-01T00:00:00Z');

/** The real files, with their paths relative to signatures/stagex. */
const real = existsSync(SHARED)
  ? readdirSync(SHARED).sort().flatMap((dir) => readdirSync(join(SHARED, dir)).sort().map((file) => ({ path: `${dir}/${file}`, bytes: new Uint8Array(readFileSync(join(SHARED, dir, file))) })))
  : [];

const { privateKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'fuzz maintainer' }], subkeys: [{ sign: true }], format: 'object', date: new Date('2026-01-01T00:00:00Z') });
const keyring: Keyring = { certificates: [{ fingerprint: privateKey.getFingerprint(), signer: 'fuzz', key: privateKey.toPublic() }] };

const sign = async (payload: Uint8Array, armor = false): Promise<Uint8Array> => {
  const message = await openpgp.createMessage({ binary: payload });
  const date = new Date('2026-06-01T00:00:00Z');
  if (armor) return new Uint8Array(Buffer.from(await openpgp.sign({ message, signingKeys: privateKey, format: 'armored', date })));
  return openpgp.sign({ message, signingKeys: privateKey, format: 'binary', date });
};

const current = JSON.parse(Buffer.from(buildPayload('core-busybox', HEX)).toString()) as unknown;
const legacy = [{ critical: { identity: { 'docker-reference': 'stagex/core-busybox:1.36' }, image: { 'docker-manifest-digest': HEX }, type: 'pgp container image signature' }, optional: null }];
/** Payloads signed once, at load: signing per case would spend the run on signing. */
const payloads = [
  ...fc.sample(mutatedJson([current, legacy]), { seed: 7, numRuns: 60 }),
  ...fc.sample(deepJsonText, { seed: 8, numRuns: 10 }).map((deep) => `{"critical":${deep}}`),
  JSON.stringify(current), JSON.stringify(legacy), '', '\xff\xfe', '{"critical":{}}',
].map((text) => new Uint8Array(Buffer.from(text)));
const signed = [...await Promise.all(payloads.map((p) => sign(p))), await sign(payloads.at(-5)!, true)];

export interface SignatureFileInput {
  path: string;
  bytes: Uint8Array;
}

const path = fc.oneof(
  { arbitrary: fc.constant(PATH), weight: 6 },
  fc.constantFrom(...real.map((r) => r.path), 'core-busybox@sha256=/signature-1', `core-busybox@sha256=${HEX}/signature-0`, `core-busybox@sha256=${HEX}/signature-01`, `x@sha256=${HEX}/signature-1/..`, '/', ''),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
);
const bytes = fc.oneof(
  fc.constantFrom(...signed),
  mutatedBytes(signed),
  ...(real.length > 0 ? [fc.constantFrom(...real.map((r) => r.bytes)), mutatedBytes(real.map((r) => r.bytes))] : []),
  randomBytes,
  fc.uint8Array({ minLength: 64 * 1024 - 2, maxLength: 64 * 1024 + 2 }),
);

export const stagexSignatureTarget: FuzzTarget<SignatureFileInput> = {
  name: 'StageX signature file',
  arbitrary: fc.record({ path, bytes }),
  async decode({ path, bytes }) {
    const location = parseSignaturePath(path);
    const check = await checkSignatureFile(bytes, keyring, NOW, path);
    return { location, payload: check.status === 'valid' ? parsePayload(check.payload, path) : undefined };
  },
  codes: ['BAD_SIGNATURE_PATH', 'BAD_SIGNATURE_FILE', 'BAD_SIGNATURE', 'BAD_SIGNATURE_PAYLOAD'],
  // A path that is not in the layout is named as the error shows it: quoted, from its directory.
  where: ({ path }) => (ok(() => parseSignaturePath(path)) ? path : JSON.stringify(path.split('/')[0]).slice(1, 30)),
  check(value) {
    const { location, payload } = value as { location: ReturnType<typeof parseSignaturePath>; payload?: SignaturePayload };
    imageNameSchema.parse(location.image);
    sha256HexSchema.parse(location.digest);
    assert.ok(Number.isInteger(location.n) && location.n >= 1);
    if (payload) {
      imageNameSchema.parse(payload.image);
      sha256HexSchema.parse(payload.digest);
    }
  },
};

function ok(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
