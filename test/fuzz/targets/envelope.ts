/**
 * DSSE envelopes through the one validation pipeline (protocol/attestation.ts): as a gossip
 * message (readGossipAttestation, the stricter rule) and as a file `stagex-node import` reads
 * (readAttestation). Inputs reach every stage: random bytes; valid envelopes with fields
 * dropped, changed, duplicated or renamed; base64 in other alphabets and paddings; byte edits;
 * deep nesting; and statements mutated and then signed by a trusted key, so the statement
 * parser behind the signature check is fuzzed too. An accepted envelope is in canonical form:
 * read again, it gives the same bytes, hash and votes.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readAttestation, readGossipAttestation, type Attestation } from '../../../protocol/attestation.ts';
import { encodeEnvelope, envelopeHash } from '../../../protocol/dsse.ts';
import { buildStatement, imageNameSchema, PAYLOAD_TYPE, platformSchema, sha256HexSchema } from '../../../protocol/statement.ts';
import { envelopeBytes, envelopeNow, facts, policyOf, signers } from '../../helpers/fixtures.ts';
import { deepJsonText, mutatedBytes, mutatedJson, randomBytes, type FuzzTarget } from '../harness.ts';

const keys = signers(3);
const [a, b, outsider] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]];
const policy = policyOf(1, [a, b]);

const valid = [
  envelopeBytes(a),
  envelopeBytes(b, { image: 'user-greet', engineDigest: 'ab'.repeat(32), machine: { cpu: 'x' } }),
  envelopeBytes([a, b]),
  envelopeBytes(outsider),
];
const validJson = valid.map((bytes) => JSON.parse(Buffer.from(bytes).toString()) as unknown);
const statement = buildStatement(facts({ engineDigest: 'cd'.repeat(32), treeRevision: 'r1' }));

/** A statement with fields edited, signed by a trusted key: past the signature, into parseStatement. */
const signedMutatedStatement = fc.tuple(mutatedJson([statement]), fc.constantFrom(a, b)).map(([text, key]) =>
  encodeEnvelope(envelopeNow(PAYLOAD_TYPE, new Uint8Array(Buffer.from(text)), [key])));

/** The same envelope in the encodings a sender is free to choose: URL-safe, unpadded, spaced, reordered. */
const reencoded = fc.tuple(fc.constantFrom(...validJson), fc.constantFrom('url', 'unpadded', 'spaced', 'padding', 'reordered', 'bom')).map(([json, how]) => {
  const e = structuredClone(json) as { payload: string; signatures: { sig: string }[] };
  const text = (s: string) => new Uint8Array(Buffer.from(s));
  switch (how) {
    case 'url': return text(JSON.stringify({ ...e, payload: e.payload.replaceAll('+', '-').replaceAll('/', '_') }));
    case 'unpadded': return text(JSON.stringify({ ...e, payload: e.payload.replace(/=+$/, ''), signatures: e.signatures.map((s) => ({ ...s, sig: s.sig.replace(/=+$/, '') })) }));
    case 'spaced': return text(JSON.stringify(e, null, 2));
    case 'padding': return text(JSON.stringify({ ...e, payload: `${e.payload}===` }));
    case 'reordered': return text(JSON.stringify({ signatures: e.signatures, payload: e.payload, payloadType: PAYLOAD_TYPE }));
    case 'bom': return text(`\ufeff${JSON.stringify(e)}`);
  }
});

const envelopeInput: fc.Arbitrary<Uint8Array> = fc.oneof(
  randomBytes,
  fc.constantFrom(...valid),
  reencoded,
  mutatedBytes(valid),
  mutatedJson(validJson).map((s) => new Uint8Array(Buffer.from(s))),
  signedMutatedStatement,
  deepJsonText.map((s) => new Uint8Array(Buffer.from(`{"payloadType":${s}}`))),
  fc.integer({ min: 65_000, max: 70_000 }).map((n) => new Uint8Array(n).fill(0x20)),
);

/** An accepted attestation is canonical: read again it is the same, and its votes are well formed. */
function checkAttestation(value: unknown): void {
  const attestation = value as Attestation;
  assert.equal(attestation.hash, envelopeHash(attestation.bytes));
  const again = readAttestation(attestation.bytes, policy, 'again');
  assert.equal(again.hash, attestation.hash);
  assert.deepEqual(again.votes, attestation.votes);
  assert.ok(attestation.votes.length > 0);
  for (const vote of attestation.votes) {
    assert.ok(policy.known.has(vote.keyid));
    imageNameSchema.parse(vote.image);
    platformSchema.parse(vote.platform);
    sha256HexSchema.parse(vote.digest);
    sha256HexSchema.parse(vote.inputDigest);
  }
}

const ENVELOPE_CODES = ['BAD_ENVELOPE', 'MISSING_KEYID', 'BAD_ENCODING', 'UNSUPPORTED_PAYLOAD_TYPE', 'BAD_SIGNATURE', 'UNKNOWN_SIGNER', 'BAD_STATEMENT'] as const;

export const gossipMessageTarget: FuzzTarget<Uint8Array> = {
  name: 'gossip message',
  arbitrary: envelopeInput,
  decode: (bytes) => readGossipAttestation(bytes, policy, 'gossip from 12D3KooWfuzz'),
  codes: [...ENVELOPE_CODES, 'NOT_ONE_SIGNATURE', 'NOT_CANONICAL'],
  where: 'gossip from 12D3KooWfuzz',
  check(value, input) {
    checkAttestation(value);
    assert.deepEqual(Buffer.from((value as Attestation).bytes), Buffer.from(input), 'gossip accepts only canonical bytes');
  },
};

export const envelopeFileTarget: FuzzTarget<Uint8Array> = {
  name: 'envelope file',
  arbitrary: envelopeInput,
  decode: (bytes) => readAttestation(bytes, policy, '/imports/envelope.json'),
  codes: ENVELOPE_CODES,
  where: '/imports/envelope.json',
  check: checkAttestation,
};
