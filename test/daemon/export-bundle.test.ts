/**
 * Standard exports. `export --bundle` writes an in-toto bundle (`.intoto.jsonl`: one DSSE envelope a line) that an
 * independent verifier accepts: sigstore's own JavaScript verifier (@sigstore/verify, from the
 * npm registry), given each line as the DSSE envelope of a bundle whose key hint is the keyid
 * and, as its trust material, the public keys of the config. Nothing of this project's code
 * checks the signatures here. `verify --vsa` writes a signed SLSA Verification Summary that the
 * same verifier accepts, citing exactly the envelopes that were counted.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, Verifier } from '@sigstore/verify';
import { sx } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hex64 } from '../helpers/fixtures.ts';
import { BUNDLE_FILE } from '../../daemon/commands/export.ts';
import { keyidOf } from '../../protocol/keys.ts';

type Key = { config: string; publicKey: string };

/** A sigstore bundle (v0.3) around one DSSE envelope signed by a bare public key. */
function sigstoreBundle(envelope: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] }) {
  return bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: envelope.signatures[0]!.keyid }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: envelope,
  });
}

/** Sigstore's verifier with the given ed25519 keys as its only trust (no logs, no timestamps). */
function verifierFor(keys: readonly Key[]): Verifier {
  const byHint = new Map(keys.map((k) => {
    const raw = Buffer.from(k.publicKey, 'hex');
    return [keyidOf(new Uint8Array(raw)), createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })];
  }));
  const material = {
    certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [],
    publicKey: (hint: string) => {
      const publicKey = byHint.get(hint);
      if (!publicKey) throw new Error(`no trusted key with hint ${hint}`);
      return { publicKey, validFor: () => true };
    },
  };
  return new Verifier(material as never, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
}

describe('standard exports: an in-toto bundle and a SLSA VSA that sigstore-js verifies', () => {
  const dir = tempDir('stagex-bundle');
  const nodes: Record<string, Key> = {};

  before(async () => {
    for (const name of ['alice', 'bob']) {
      const init = await sx('init', join(dir, name), '--name', name, '--json');
      assert.equal(init.code, 0, init.err);
      nodes[name] = JSON.parse(init.out);
    }
    assert.equal((await sx('-c', nodes.alice!.config, 'trust', 'add', 'bob', nodes.bob!.publicKey, '--threshold', '2')).code, 0);
    const mail = join(dir, 'mail');
    await mkdir(mail);
    for (const [i, name] of ['alice', 'bob'].entries()) {
      for (const image of ['core-busybox', 'core-make']) {
        const attest = await sx('-c', nodes[name]!.config, 'attest', '--image', image, '--input-digest', hex64(`in ${image}`), '--digest', hex64(`out ${image}`), '--out', join(mail, `${name}-${image}-${i}.json`));
        assert.equal(attest.code, 0, attest.err);
      }
    }
    assert.equal((await sx('-c', nodes.alice!.config, 'import', mail)).code, 0);
  });

  it('writes one envelope a line, each accepted by @sigstore/verify with the config keys', async () => {
    const out = join(dir, 'out');
    const result = await sx('-c', nodes.alice!.config, 'export', out, '--bundle', '--json');
    assert.equal(result.code, 0, result.err);
    assert.equal(JSON.parse(result.out).bundle, join(out, BUNDLE_FILE));
    const lines = (await readFile(join(out, BUNDLE_FILE), 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    assert.equal(lines.length, 4, 'two images, two signers');
    const verifier = verifierFor([nodes.alice!, nodes.bob!]);
    const signers = new Set<string>();
    for (const line of lines) {
      const envelope = JSON.parse(line);
      assert.equal(envelope.payloadType, 'application/vnd.in-toto+json');
      verifier.verify(toSignedEntity(sigstoreBundle(envelope)));
      signers.add(envelope.signatures[0].keyid);
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
      assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
    }
    assert.equal(signers.size, 2);
  });

  it('the same verifier refuses a line whose payload was changed, and a key it was not given', async () => {
    const lines = (await readFile(join(dir, 'out', BUNDLE_FILE), 'utf8')).trim().split('\n');
    const envelope = JSON.parse(lines[0]!);
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.subject[0].digest.sha256 = hex64('another digest');
    const forged = { ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') };
    assert.throws(() => verifierFor([nodes.alice!, nodes.bob!]).verify(toSignedEntity(sigstoreBundle(forged))), /signature verification failed/);
    const other = lines.map((l) => JSON.parse(l)).find((e) => e.signatures[0].keyid !== keyidOf(new Uint8Array(Buffer.from(nodes.alice!.publicKey, 'hex'))))!;
    assert.throws(() => verifierFor([nodes.alice!]).verify(toSignedEntity(sigstoreBundle(other))), /no trusted key/);
  });

  it('verify --vsa signs a verification summary citing the counted envelopes; FAILED when not trusted', async () => {
    const lines = (await readFile(join(dir, 'out', BUNDLE_FILE), 'utf8')).trim().split('\n');
    const digest = hex64('out core-make');
    const counted = lines.filter((l) => JSON.parse(Buffer.from(JSON.parse(l).payload, 'base64').toString()).subject[0].name === 'stagex/core-make')
      .map((l) => createHash('sha256').update(l).digest('hex')).sort();
    const file = join(dir, 'vsa.json');
    const passed = await sx('-c', nodes.alice!.config, 'verify', `core-make@sha256:${digest}`, '--vsa', file);
    assert.equal(passed.code, 0, passed.out + passed.err);
    assert.match(passed.out, /verification summary \(SLSA VSA, signed\) ->/);
    const envelope = JSON.parse(await readFile(file, 'utf8'));
    verifierFor([nodes.alice!]).verify(toSignedEntity(sigstoreBundle(envelope)));
    const vsa = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    assert.equal(vsa.predicateType, 'https://slsa.dev/verification_summary/v1');
    assert.deepEqual(vsa.subject, [{ name: 'stagex/core-make', digest: { sha256: digest } }]);
    assert.equal(vsa.predicate.verificationResult, 'PASSED');
    assert.equal(vsa.predicate.verifier.id, 'stagex-node:alice');
    assert.deepEqual(vsa.predicate.inputAttestations.map((a: { digest: { sha256: string } }) => a.digest.sha256).sort(), counted);
    assert.equal(counted.length, 2);

    const failed = await sx('-c', nodes.alice!.config, 'verify', `core-make@sha256:${hex64('another')}`, '--vsa', file, '--json');
    assert.equal(failed.code, 1);
    assert.equal(JSON.parse(failed.out).vsa, file);
    const summary = JSON.parse(Buffer.from(JSON.parse(await readFile(file, 'utf8')).payload, 'base64').toString('utf8'));
    assert.equal(summary.predicate.verificationResult, 'FAILED');
    assert.deepEqual(summary.predicate.inputAttestations, [], 'nothing vouched for that digest');
  });
});
