import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, freePort } from '../../scripts/local-network.ts';
import { buildPayload, parsePayload, parseSignaturePath } from '../../protocol/stagex-signature.ts';
import { readSignatureFile } from '../../daemon/openpgp.ts';
import { signDigests } from '../../daemon/signature-writer.ts';
import { loadContext } from '../../daemon/context.ts';
import { startNode, type RunningNode } from '../../daemon/node.ts';
import { canonicalize } from '../../canonical/index.ts';
import { envelopeBytes, hex64, signer } from '../helpers/fixtures.ts';
import { gpg, skipWithoutGpg, type Gpg } from '../helpers/gpg.ts';
import { imageArchive, streamOf, tarOf } from '../helpers/image-archive.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { SignatureOutcome } from '../../daemon/signature-import.ts';

const LEGACY = new URL('../../../shared/stagex-signatures-2025-06/signatures/stagex', import.meta.url).pathname;
const skipWithoutLegacy = existsSync(LEGACY) ? false : `../shared/stagex-signatures-2025-06 is absent (${LEGACY}): real StageX signatures are test data kept beside the project`;
const skipWithoutSkopeo = spawnSync('skopeo', ['--version']).status === 0 ? false : 'skopeo is not installed (apt-get install skopeo; .ci/run does): the interop check with containers/image cannot run';

const H1 = hex64('core-a manifest');
const H2 = hex64('core-b manifest');
const H3 = hex64('core-c manifest');

/** A node config trusting its own key, two reproducers' ed25519 keys and the two gpg maintainers. */
async function nodeWithSigners(g: Gpg, threshold: number): Promise<string> {
  const dir = join(tempDir('stagex-sig'), 'alice');
  assert.equal((await cli('init', dir, '--name', 'alice')).code, 0);
  const file = join(dir, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  config.api = { listen: `127.0.0.1:${await freePort()}` };
  config.trust = {
    threshold,
    keys: [
      { name: 'repro-0', publicKey: Buffer.from(signer(0).publicKey).toString('hex') },
      { name: 'repro-1', publicKey: Buffer.from(signer(1).publicKey).toString('hex') },
      { name: 'rsa-maintainer', openpgp: [{ fingerprint: g.rsa.fingerprint, certificate: g.rsa.certificate }] },
      { name: 'ed-maintainer', openpgp: [{ fingerprint: g.ed.fingerprint.toLowerCase(), certificate: g.ed.armored }] },
    ],
    revoked: [],
  };
  await writeFile(file, JSON.stringify(config));
  return file;
}

async function put(root: string, path: string, bytes: Uint8Array | string): Promise<void> {
  const file = join(root, 'signatures', 'stagex', path);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, bytes);
}

const byFile = (outcomes: SignatureOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.file.slice(o.file.indexOf('/stagex/') + 8), o]));

describe('signatures import', { skip: skipWithoutGpg }, () => {
  let g: Gpg;
  let config: string;
  const checkout = tempDir('stagex-checkout');

  before(async () => {
    g = gpg();
    config = await nodeWithSigners(g, 2);
    await put(checkout, `core-a@sha256=${H1}/signature-1`, g.sign(g.rsa, buildPayload('core-a', H1)));
    await put(checkout, `core-a@sha256=${H1}/signature-2`, g.sign(g.ed, buildPayload('core-a', H1)));
    await put(checkout, `core-a@sha256=${H1}/signature-3`, g.sign(g.outsider, buildPayload('core-a', H1)));
    const plain = g.run(['--sign', '--compress-algo', 'none', '--local-user', g.ed.fingerprint], buildPayload('core-b', H2));
    const at = plain.indexOf(Buffer.from(H2));
    await put(checkout, `core-b@sha256=${H2}/signature-1`, Buffer.concat([plain.subarray(0, at), Buffer.from(hex64('tampered')), plain.subarray(at + 64)]));
    await put(checkout, `core-c@sha256=${H3}/signature-1`, g.sign(g.ed, buildPayload('core-c', H1)));
    await put(checkout, `core-c@sha256=${H3}/signature-2`, 'not an OpenPGP message at all\n');
    const valid = g.sign(g.rsa, buildPayload('core-c', H3));
    await put(checkout, `core-c@sha256=${H3}/signature-3`, valid.subarray(0, valid.length >> 1));
    await put(checkout, `core-c@sha256=${H3}/signature-4`, Buffer.alloc(64 * 1024 + 1, 0x90));
    await mkdir(join(checkout, 'signatures', 'stagex', `core-c@sha256=${H3}`, 'signature-5'));
    await symlink(join(checkout, 'signatures', 'stagex', `core-a@sha256=${H1}`, 'signature-1'), join(checkout, 'signatures', 'stagex', `core-c@sha256=${H3}`, 'signature-6'));
    const bomb = g.run(['--sign', '--compress-algo', 'zlib', '-z', '9', '--local-user', g.ed.fingerprint], Buffer.alloc(4 * 1024 * 1024, 0x20));
    assert.ok(bomb.length < 64 * 1024, `a 4 MiB payload compresses to ${bomb.length} bytes`);
    await put(checkout, `core-c@sha256=${H3}/signature-7`, bomb);
    await put(checkout, 'README.md', 'not a signature directory\n');
    await mkdir(join(checkout, 'signatures', 'stagex', '.git'));
  });

  it('reports each file: imported, by a key not in the config, invalid, not matching its path', async () => {
    const result = await cli('-c', config, 'signatures', 'import', checkout, '--json');
    assert.equal(result.code, 1, result.err);
    const outcomes = byFile(JSON.parse(result.out).outcomes);
    const a1 = outcomes[`core-a@sha256=${H1}/signature-1`]!;
    assert.deepEqual([a1.result, a1.result === 'imported' && a1.signer, a1.result === 'imported' && a1.fingerprint], ['imported', 'rsa-maintainer', g.rsa.fingerprint.toLowerCase()], 'a signing subkey signs for its primary');
    assert.deepEqual([outcomes[`core-a@sha256=${H1}/signature-2`]!.result, (outcomes[`core-a@sha256=${H1}/signature-2`] as { signer: string }).signer], ['imported', 'ed-maintainer']);
    assert.deepEqual(outcomes[`core-a@sha256=${H1}/signature-3`], { file: join(checkout, 'signatures', 'stagex', `core-a@sha256=${H1}/signature-3`), result: 'unknown-signer', issuer: g.outsider.fingerprint });
    const tampered = outcomes[`core-b@sha256=${H2}/signature-1`]!;
    assert.deepEqual(tampered.result === 'invalid' && tampered.code, 'BAD_SIGNATURE', 'a tampered payload does not verify');
    assert.equal(outcomes[`core-c@sha256=${H3}/signature-1`]!.result, 'mismatch');
    for (const n of [2, 3, 4, 5, 6, 7]) {
      const outcome = outcomes[`core-c@sha256=${H3}/signature-${n}`]!;
      assert.deepEqual([outcome.result, outcome.result === 'invalid' && outcome.code], ['invalid', 'BAD_SIGNATURE_FILE'], `signature-${n}`);
    }
    const readme = outcomes['README.md']!;
    assert.equal(readme.result === 'invalid' && readme.code, 'BAD_SIGNATURE_PATH');
    assert.equal(Object.keys(outcomes).length, 12, 'hidden entries (.git) are skipped');
  });

  it('is idempotent: a second import stores nothing new', async () => {
    const result = await cli('-c', config, 'signatures', 'import', join(checkout, 'signatures', 'stagex'), '--json');
    const outcomes: SignatureOutcome[] = JSON.parse(result.out).outcomes;
    assert.deepEqual(outcomes.filter((o) => o.result === 'imported' || o.result === 'present').map((o) => o.result), ['present', 'present']);
    const query = JSON.parse((await cli('-c', config, 'query', '--image', 'core-a', '--json')).out);
    assert.equal(query.openpgp.length, 2, 'only the two valid signatures are stored');
    const none = JSON.parse((await cli('-c', config, 'query', '--image', 'core-c', '--json')).out);
    assert.deepEqual(none.openpgp, [], 'nothing a bad file says is stored');
  });

  it('counts the two maintainers as two signers in verify, and says who vouched', async () => {
    const digests = join(tempDir('stagex-digests'), 'core.txt');
    await writeFile(digests, `${H1} core-a\n${H2} core-b\n`);
    const result = await cli('-c', config, 'verify', digests, '--json', '--all');
    const verdict = JSON.parse(result.out);
    assert.equal(result.code, 1);
    assert.deepEqual(verdict.entries.map((e: { holds: boolean; via?: string; reason?: string }) => e.holds ? e.via : e.reason), ['vouched', 'unknown']);
    assert.deepEqual(verdict.entries[0].vouchers, [{ signer: 'ed-maintainer', via: ['openpgp'] }, { signer: 'rsa-maintainer', via: ['openpgp'] }]);
    const text = await cli('-c', config, 'verify', digests, '--all');
    assert.match(text.out, /ed-maintainer \(openpgp\), rsa-maintainer \(openpgp\)/);
  });

  it('a missing directory is bad input (exit 3)', async () => {
    assert.equal((await cli('-c', config, 'signatures', 'import', join(checkout, 'nowhere'))).code, 3);
  });

  it('a certificate that is not the configured fingerprint\'s is BAD_CONFIG naming the field', async () => {
    const json = JSON.parse(await readFile(config, 'utf8'));
    json.trust.keys[3].openpgp[0].certificate = g.rsa.certificate;
    const wrong = join(tempDir('stagex-wrong'), 'config.json');
    await writeFile(wrong, JSON.stringify({ ...json, signingKey: join(config, '..', json.signingKey) }));
    await assert.rejects(loadContext(wrong), (error: Error & { code?: string }) => error.code === 'BAD_CONFIG' && error.message.includes('trust.keys.3.openpgp.0'));
  });
});

describe('signatures import through a running daemon', { skip: skipWithoutGpg }, () => {
  let node: RunningNode;
  let config: string;
  before(async () => {
    const g = gpg();
    config = await nodeWithSigners(g, 2);
    node = await startNode(await loadContext(config), { log: () => {}, build: false });
  });
  after(async () => {
    await node.stop();
  });
  it('goes through POST /signatures (the daemon holds the store) with the same outcomes', async () => {
    const g = gpg();
    const checkout = tempDir('stagex-checkout');
    await put(checkout, `core-a@sha256=${H1}/signature-1`, g.sign(g.ed, buildPayload('core-a', H1)));
    await put(checkout, `core-a@sha256=${H1}/signature-2`, 'garbage');
    const result = await cli('-c', config, 'signatures', 'import', checkout, '--json');
    assert.equal(result.code, 1, result.err);
    assert.deepEqual(JSON.parse(result.out).outcomes.map((o: SignatureOutcome) => o.result), ['imported', 'invalid']);
    assert.equal((await node.store.openpgpVotes(['core-a'])).votes.length, 1);
  });
});

describe('signatures sign', { skip: skipWithoutGpg }, () => {
  let g: Gpg;
  let config: string;
  const out = tempDir('stagex-signed');
  const D = hex64('canonical core-a');
  const E = hex64('stagex digest core-a');

  before(async () => {
    g = gpg();
    process.env.GNUPGHOME = g.home;
    config = await nodeWithSigners(g, 2);
    const envelopes = tempDir('stagex-envelopes');
    await writeFile(join(envelopes, '0.json'), envelopeBytes(signer(0), { image: 'core-a', digest: D, engineDigest: E }));
    await writeFile(join(envelopes, '1.json'), envelopeBytes(signer(1), { image: 'core-a', digest: D, engineDigest: E }));
    await writeFile(join(envelopes, '2.json'), envelopeBytes(signer(0), { image: 'core-b', digest: D, engineDigest: E }));
    assert.equal((await cli('-c', config, 'import', envelopes)).code, 0);
  });

  it('signs, with gpg --sign --no-armor, each digest M signers recorded, into the next free signature-<n>', async () => {
    const result = await cli('-c', config, 'signatures', 'sign', out, '--local-user', g.ed.fingerprint, '--json');
    assert.equal(result.code, 0, result.err);
    const { outcomes } = JSON.parse(result.out);
    const file = join(out, 'signatures', 'stagex', `core-a@sha256=${E}`, 'signature-1');
    assert.deepEqual(outcomes, [{ image: 'core-a', digest: E, result: 'signed', file, fingerprint: g.ed.fingerprint.toLowerCase() }], 'core-b has one recorder only');
    const facts = await readSignatureFile(new Uint8Array(await readFile(file)), file);
    assert.deepEqual(Buffer.from(facts.literal), Buffer.from(buildPayload('core-a', E)));
  });

  it('skips a digest this signer already signed there, as sign.sh\'s dir-has-no-sig', async () => {
    const { outcomes } = JSON.parse((await cli('-c', config, 'signatures', 'sign', out, 'core-a', '--local-user', g.ed.fingerprint, '--json')).out);
    assert.deepEqual(outcomes.map((o: { result: string }) => o.result), ['already-signed']);
    const learnt = JSON.parse((await cli('-c', config, 'signatures', 'sign', out, '--sign-command', `gpg --sign --no-armor --local-user ${g.ed.fingerprint}`, '--json')).out);
    assert.deepEqual(learnt.outcomes.map((o: { result: string }) => o.result), ['already-signed'], 'without --local-user the signer is learnt from its signature');
  });

  it('adds another signer\'s signature as signature-2, which import then counts', async () => {
    const { outcomes } = JSON.parse((await cli('-c', config, 'signatures', 'sign', out, '--local-user', g.rsa.fingerprint, '--json')).out);
    assert.equal(outcomes[0].file, join(out, 'signatures', 'stagex', `core-a@sha256=${E}`, 'signature-2'));
    const imported = JSON.parse((await cli('-c', config, 'signatures', 'import', out, '--json')).out).outcomes;
    assert.deepEqual(imported.map((o: SignatureOutcome) => o.result), ['imported', 'imported']);
  });

  it('reports an image with no agreed digest, and a failing sign command, with exit 1', async () => {
    const result = await cli('-c', config, 'signatures', 'sign', out, 'core-b', '--json');
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.out).missing, ['core-b']);
    const failing = await cli('-c', config, 'signatures', 'sign', tempDir('stagex-signed'), '--sign-command', 'false', '--json');
    assert.equal(failing.code, 1);
    assert.deepEqual(JSON.parse(failing.out).outcomes.map((o: { code: string }) => o.code), ['SIGN_FAILED']);
  });

  it('skopeo standalone-verify (containers/image) accepts a signature written here over a canonical OCI manifest', { skip: skipWithoutSkopeo }, async () => {
    const archive = await imageArchive([{ tar: await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello\n' }]) }], { architecture: 'amd64', os: 'linux', config: {} }, 'docker-legacy');
    const layout = join(tempDir('stagex-layout'), 'oci');
    const image = await canonicalize(streamOf(archive), layout);
    const hex = image.digest.replace(/^sha256:/, '');
    const manifest = join(layout, 'blobs', 'sha256', hex);
    const context = await loadContext(config);
    const signed = tempDir('stagex-skopeo');
    for (const key of [g.ed, g.rsa]) {
      const [outcome] = await signDigests([{ image: 'core-hello', digest: hex }], { out: signed, command: ['gpg', '--sign', '--no-armor', '--local-user', key.fingerprint], fingerprint: key.fingerprint.toLowerCase(), keyring: context.keyring, now: () => new Date() });
      assert.equal(outcome!.result, 'signed');
      const file = (outcome as { file: string }).file;
      const verify = spawnSync('skopeo', ['standalone-verify', manifest, 'stagex/core-hello', key.signingFingerprint, file], { env: { ...process.env, GNUPGHOME: g.home }, encoding: 'utf8' });
      assert.equal(verify.status, 0, `skopeo: ${verify.stderr}`);
      assert.match(verify.stdout, new RegExp(`Signature verified.*${hex}`));
      const refused = spawnSync('skopeo', ['standalone-verify', manifest, 'stagex/core-other', key.signingFingerprint, file], { env: { ...process.env, GNUPGHOME: g.home }, encoding: 'utf8' });
      assert.notEqual(refused.status, 0, 'another docker-reference is refused');
    }
  });
});

describe('the real StageX signatures of 2025-06 (legacy payload)', { skip: skipWithoutLegacy }, () => {
  const files = existsSync(LEGACY) ? readdirSync(LEGACY).flatMap((dir) => readdirSync(join(LEGACY, dir)).map((name) => `${dir}/${name}`)).sort() : [];

  it('all 70 parse: payload naming the image and digest of their path, and the issuer key id', async () => {
    assert.equal(files.length, 70);
    const issuers = new Set<string>();
    for (const path of files) {
      const location = parseSignaturePath(path);
      const facts = await readSignatureFile(new Uint8Array(await readFile(join(LEGACY, path))), path);
      const payload = parsePayload(facts.literal, path);
      assert.deepEqual([payload.image, payload.digest, payload.legacy], [location.image, location.digest, true], path);
      assert.match(facts.issuerKeyId, /^[0-9a-f]{16}$/);
      issuers.add(facts.issuerKeyId);
    }
    assert.ok(issuers.size >= 2, `expected signatures by several maintainers, got ${[...issuers].join(', ')}`);
  });

  it('verifies them against their signers\' keys', { skip: 'the signers\' public keys are not available here (StageX publishes its keyring elsewhere): only parsing is checked' }, () => {});

  it('import skips them all as signed by keys not in the config (exit 0), storing nothing', { skip: skipWithoutGpg }, async () => {
    const config = await nodeWithSigners(gpg(), 2);
    const result = await cli('-c', config, 'signatures', 'import', join(LEGACY, '..', '..'), '--json');
    assert.equal(result.code, 0, result.err);
    const outcomes: SignatureOutcome[] = JSON.parse(result.out).outcomes;
    assert.equal(outcomes.length, 70);
    assert.ok(outcomes.every((o) => o.result === 'unknown-signer' && /^[0-9A-F]{16,40}$/.test(o.issuer)));
    assert.deepEqual(JSON.parse((await cli('-c', config, 'query', '--image', 'user-yq', '--json')).out).openpgp, []);
  });
});
