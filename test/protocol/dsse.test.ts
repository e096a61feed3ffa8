import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes, encodeEnvelope, isCanonicalForm, parseEnvelope, preAuthEncoding, signEnvelope, verifyEnvelope, type Envelope, type KnownKey } from '../../protocol/dsse.ts';
import { createVerifier } from '../../protocol/ed25519.ts';
import { sha256Hex, toBase64 } from '../../protocol/encoding.ts';
import { codeOf } from '../helpers/code-of.ts';
import { countingKeys, envelopeBytes, envelopeNow, signer, signers } from '../helpers/fixtures.ts';
import { variant } from '../helpers/hostile-envelopes.ts';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const known = (...signers: ReturnType<typeof signer>[]) => new Map<string, KnownKey>(signers.map((s) => [s.keyid, { keyid: s.keyid, verify: createVerifier(s.publicKey) }]));
const TYPE = 'http://example.com/HelloWorld';

describe('preAuthEncoding', () => {
  it('matches the DSSE specification test vector', () => {
    assert.equal(Buffer.from(preAuthEncoding(TYPE, bytes('hello world'))).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
  it('counts lengths in UTF-8 bytes, not characters', () => {
    assert.equal(Buffer.from(preAuthEncoding('tÿpe', bytes('é'))).toString(), 'DSSEv1 5 tÿpe 2 é');
  });
});

describe('signEnvelope', () => {
  it('signs the PAE through each signer\'s asynchronous sign, in order, and assembles what an in-memory key signs at once', async () => {
    const seen: Uint8Array[] = [];
    const alice = signer(1);
    const watched = { publicKey: alice.publicKey, keyid: alice.keyid, sign: async (m: Uint8Array) => (seen.push(m), alice.signNow(m)) };
    const envelope = await signEnvelope(TYPE, bytes('hello world'), [watched, signer(2)]);
    assert.deepEqual(seen, [preAuthEncoding(TYPE, bytes('hello world'))]);
    assert.deepEqual(envelope, envelopeNow(TYPE, bytes('hello world'), [alice, signer(2)]));
  });
});

describe('verifyEnvelope', () => {
  const alice = signer(1);
  const bob = signer(2);
  const envelope = envelopeNow(TYPE, bytes('hello world'), [alice]);

  it('returns the exact payload bytes and the signer keyid', () => {
    const verified = verifyEnvelope(envelope, known(alice, bob), TYPE, 'test');
    assert.equal(Buffer.from(verified.payload).toString(), 'hello world');
    assert.deepEqual(verified.keyids, [alice.keyid]);
  });
  it('accepts URL-safe, unpadded base64 as well as standard base64', () => {
    const payload = bytes('??>>~~~');
    const standard = envelopeNow(TYPE, payload, [alice]);
    const urlSafe = {
      ...standard,
      payload: Buffer.from(payload).toString('base64url'),
      signatures: standard.signatures.map((s) => ({ ...s, sig: Buffer.from(s.sig, 'base64').toString('base64url') })),
    };
    assert.match(standard.payload, /[+/]/);
    assert.match(urlSafe.payload, /[-_]/);
    for (const form of [standard, urlSafe]) {
      assert.deepEqual(verifyEnvelope(form, known(alice), TYPE, 'test').payload, payload);
    }
  });
  it('rejects a signature over a different payload', () => {
    const forged = { ...envelope, payload: toBase64(bytes('hello worle')) };
    assert.equal(codeOf(() => verifyEnvelope(forged, known(alice), TYPE, 'test')), 'BAD_SIGNATURE');
  });
  it('rejects a signature under a different payload type', () => {
    const other = envelopeNow('application/other', bytes('hello world'), [alice]);
    assert.equal(codeOf(() => verifyEnvelope({ ...other, payloadType: TYPE }, known(alice), TYPE, 'test')), 'BAD_SIGNATURE');
  });
  it('rejects an unexpected payload type before checking signatures', () => {
    assert.equal(codeOf(() => verifyEnvelope(envelope, known(alice), 'application/vnd.in-toto+json', 'test')), 'UNSUPPORTED_PAYLOAD_TYPE');
  });
  it('reports a signer it does not know as UNKNOWN_SIGNER', () => {
    assert.equal(codeOf(() => verifyEnvelope(envelope, known(bob), TYPE, 'test')), 'UNKNOWN_SIGNER');
  });
  it('does not trust the keyid field: a known keyid on another key\'s signature fails', () => {
    const lying = { ...envelope, signatures: [{ keyid: bob.keyid, sig: envelope.signatures[0]!.sig }] };
    assert.equal(codeOf(() => verifyEnvelope(lying, known(alice, bob), TYPE, 'test')), 'BAD_SIGNATURE');
  });
  it('refuses a signature without keyid as MISSING_KEYID, before verifying anything', () => {
    const { keys, calls } = countingKeys(known(alice, bob));
    for (const keyid of [undefined, '']) {
      const anonymous = { ...envelope, signatures: [...envelope.signatures, keyid === undefined ? { sig: envelope.signatures[0]!.sig } : { keyid, sig: envelope.signatures[0]!.sig }] };
      assert.equal(codeOf(() => verifyEnvelope(anonymous, keys, TYPE, 'test')), 'MISSING_KEYID');
    }
    assert.equal(calls(), 0);
  });
  it('spends no verification on a keyid it does not know', () => {
    const { keys, calls } = countingKeys(known(alice));
    const strangers = { ...envelope, signatures: Array.from({ length: 16 }, (_, i) => ({ keyid: `stranger-${i}`, sig: envelope.signatures[0]!.sig })) };
    assert.equal(codeOf(() => verifyEnvelope(strangers, keys, TYPE, 'test')), 'UNKNOWN_SIGNER');
    assert.equal(calls(), 0);
  });
  it('counts one key once however many of its signatures the envelope carries', () => {
    const twice = { ...envelope, signatures: [...envelope.signatures, { keyid: 'other-hint', sig: envelope.signatures[0]!.sig }, { keyid: alice.keyid, sig: envelope.signatures[0]!.sig }] };
    assert.deepEqual(verifyEnvelope(twice, known(alice), TYPE, 'test').keyids, [alice.keyid]);
  });
  it('keeps the valid signatures of a co-signed envelope with one bad signature', () => {
    const both = envelopeNow(TYPE, bytes('hello world'), [alice, bob]);
    both.signatures[1] = { keyid: bob.keyid, sig: envelope.signatures[0]!.sig };
    assert.deepEqual(verifyEnvelope(both, known(alice, bob), TYPE, 'test').keyids, [alice.keyid]);
  });
  it('rejects base64 with characters outside both alphabets', () => {
    assert.equal(codeOf(() => verifyEnvelope({ ...envelope, payload: 'aGVsbG8*' }, known(alice), TYPE, 'test')), 'BAD_ENCODING');
  });
});

describe('canonicalBytes', () => {
  it('writes the fields in order, standard padded base64, signatures sorted by keyid, no spaces', () => {
    const written = canonicalBytes(TYPE, bytes('hi'), [{ keyid: 'b', sig: new Uint8Array([1, 2]) }, { keyid: 'a', sig: new Uint8Array([255]) }]);
    assert.equal(Buffer.from(written).toString(), '{"payloadType":"http://example.com/HelloWorld","payload":"aGk=","signatures":[{"keyid":"a","sig":"/w=="},{"keyid":"b","sig":"AQI="}]}');
  });
});

describe('verifyEnvelope: the canonical form (DESIGN section 4)', () => {
  const alice = signer(1);
  const bob = signer(2);
  const stranger = signer(3);
  const payload = bytes('??>>~~~ hello');
  const envelope = envelopeNow(TYPE, payload, [alice, bob]);
  const canonical = encodeEnvelope(envelope);
  const strangers = envelopeNow(TYPE, payload, [stranger]).signatures;
  const variants: [string, unknown][] = [
    ['an unknown field, at the top and in a signature', { ...envelope, extra: 'x', signatures: envelope.signatures.map((s) => ({ ...s, note: 1 })) }],
    ['URL-safe unpadded base64', { ...envelope, payload: Buffer.from(payload).toString('base64url'), signatures: envelope.signatures.map((s) => ({ ...s, sig: Buffer.from(s.sig, 'base64').toString('base64url') })) }],
    ['a duplicated signature', { ...envelope, signatures: [...envelope.signatures, envelope.signatures[0]] }],
    ['an extra signature by an unknown key', { ...envelope, signatures: [...envelope.signatures, ...strangers] }],
    ['signatures in another order', { ...envelope, signatures: [...envelope.signatures].reverse() }],
    ['a signature that does not verify', { ...envelope, signatures: [...envelope.signatures, { keyid: alice.keyid, sig: strangers[0]!.sig }] }],
  ];
  for (const [name, variant] of variants) {
    it(`gives the same bytes and id with ${name}`, () => {
      const parsed = parseEnvelope(bytes(JSON.stringify(variant)), 'test');
      const verified = verifyEnvelope(parsed, known(alice, bob), TYPE, 'test');
      assert.deepEqual(verified.bytes, canonical);
      assert.equal(verified.hash, sha256Hex(canonical));
    });
  }
  it('keeps only the signatures of keys it knows', () => {
    const verified = verifyEnvelope(envelope, known(alice), TYPE, 'test');
    assert.deepEqual(verified.bytes, encodeEnvelope(envelopeNow(TYPE, payload, [alice])));
  });
  it('encodeEnvelope writes the canonical form of what this node signed', () => {
    const reversed: Envelope = { ...envelope, signatures: [...envelope.signatures].reverse() };
    assert.deepEqual(encodeEnvelope(reversed), canonical);
    assert.deepEqual(verifyEnvelope(parseEnvelope(canonical, 'test'), known(alice, bob), TYPE, 'test').bytes, canonical);
  });
});

describe('parseEnvelope', () => {
  const good = encodeEnvelope(envelopeNow(TYPE, bytes('x'), [signer(1)]));
  it('parses what encodeEnvelope wrote', () => {
    assert.equal(parseEnvelope(good, 'test').payloadType, TYPE);
  });
  for (const [name, input] of [
    ['not JSON', bytes('{nope')],
    ['no signatures', bytes(JSON.stringify({ payloadType: TYPE, payload: '', signatures: [] }))],
    ['a number payload', bytes(JSON.stringify({ payloadType: TYPE, payload: 1, signatures: [{ sig: 'AA==' }] }))],
    ['too large', new Uint8Array(64 * 1024 + 1).fill(32)],
  ] as const) {
    it(`rejects ${name} as BAD_ENVELOPE`, () => {
      assert.equal(codeOf(() => parseEnvelope(input, 'test')), 'BAD_ENVELOPE');
    });
  }
});

describe('isCanonicalForm: what an honest node stores and serves', () => {
  const [one, two] = signers(2) as [ReturnType<typeof signers>[0], ReturnType<typeof signers>[0]];
  it('holds for canonical bytes, with one signature or several sorted by keyid', () => {
    assert.equal(isCanonicalForm(envelopeBytes(one)), true);
    assert.equal(isCanonicalForm(envelopeBytes([one, two])), true);
  });
  it('fails for every re-encoding of the same signatures, and for bytes that are no envelope', () => {
    const envelope = parseEnvelope(envelopeBytes(one), 'test');
    for (let n = 0; n < 6; n++) assert.equal(isCanonicalForm(variant(envelope, n)), false, `variant ${n}`);
    const two_ = parseEnvelope(envelopeBytes([one, two]), 'test');
    const reversed = { ...two_, signatures: [...two_.signatures].reverse() };
    assert.equal(isCanonicalForm(new Uint8Array(Buffer.from(JSON.stringify(reversed)))), false, 'signatures out of keyid order');
    assert.equal(isCanonicalForm(new Uint8Array(Buffer.from('{"payloadType":1}'))), false);
    assert.equal(isCanonicalForm(new Uint8Array([0xff, 0x00])), false);
  });
});
