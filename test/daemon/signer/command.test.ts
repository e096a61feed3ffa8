/**
 * The external signing command (DESIGN section 4), driven by OpenSSL 3 as the signer, and by
 * commands that fail in each way a card, an agent or a broken script can.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCommandSigner, MAX_SIGNER_STDOUT } from '../../../daemon/signer/command.ts';
import { SignerError } from '../../../daemon/signer/errors.ts';
import { preAuthEncoding, signEnvelope, verifyEnvelope } from '../../../protocol/dsse.ts';
import { createVerifier, verifyReference } from '../../../protocol/ed25519.ts';
import { createSeedSigner, decodePrivateKeyPem, keyidOf } from '../../../protocol/keys.ts';
import { PAYLOAD_TYPE } from '../../../protocol/statement.ts';
import { toHex } from '../../../protocol/encoding.ts';
import { hex64 } from '../../helpers/fixtures.ts';
import { sx } from '../../helpers/cli.ts';
import { noOpenssl, opensslKey, opensslSignCommand } from '../../helpers/openssl.ts';
import { tempDir } from '../../helpers/tmp.ts';

const pae = preAuthEncoding(PAYLOAD_TYPE, new Uint8Array(Buffer.from('{"_type":"https://in-toto.io/Statement/v1","é":1}')));

async function signerError(promise: Promise<unknown>): Promise<SignerError> {
  const error = await promise.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(error instanceof SignerError, `expected a SignerError, got ${String(error)}`);
  return error;
}

/** Whether a process runs: a zombie (dead, its parent has not reaped it yet) does not. */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

describe('createCommandSigner', { skip: noOpenssl }, () => {
  const dir = tempDir('stagex-command-signer');
  let key: Awaited<ReturnType<typeof opensslKey>>;
  let other: Awaited<ReturnType<typeof opensslKey>>;
  let raw: string;
  before(async () => {
    key = await opensslKey(dir, 'card');
    other = await opensslKey(dir, 'other');
    raw = await opensslSignCommand(dir);
  });

  describe('when OpenSSL signs with the configured key', () => {
    it('returns its signature, which the pinned rule accepts, over the exact PAE bytes', async () => {
      const signer = createCommandSigner({ command: [raw, key.file], publicKey: key.publicKey });
      assert.equal(signer.keyid, keyidOf(key.publicKey));
      const signature = await signer.sign(pae);
      assert.equal(createVerifier(key.publicKey)(pae, signature), true);
      assert.equal(verifyReference(key.publicKey, pae, signature), true);
      const seed = decodePrivateKeyPem(await readFile(key.file, 'utf8'), key.file);
      assert.deepEqual(signature, createSeedSigner(seed).signNow(pae), 'ed25519 is deterministic: OpenSSL and this project sign alike');
    });
    for (const [form, filter] of [['hex', "od -An -v -tx1 | tr -d ' \\n'"], ['base64', 'base64 -w0']] as const) {
      it(`reads the signature printed as ${form}`, async () => {
        const signer = createCommandSigner({ command: [await opensslSignCommand(dir, filter), key.file], publicKey: key.publicKey });
        assert.equal(createVerifier(key.publicKey)(pae, await signer.sign(pae)), true);
      });
    }
    it('signs DSSE envelopes that verify as this key\'s', async () => {
      const signer = createCommandSigner({ command: [raw, key.file], publicKey: key.publicKey });
      const payload = new Uint8Array(Buffer.from('{"a":1}'));
      const envelope = await signEnvelope(PAYLOAD_TYPE, payload, [signer]);
      const known = new Map([[signer.keyid, { keyid: signer.keyid, verify: createVerifier(key.publicKey) }]]);
      assert.deepEqual(verifyEnvelope(envelope, known, PAYLOAD_TYPE, 'test').keyids, [signer.keyid]);
    });
  });

  describe('when the command fails', () => {
    it('a non-zero exit is SIGNER_EXIT', async () => {
      const signer = createCommandSigner({ command: ['sh', '-c', 'cat >/dev/null; echo "card not present" >&2; exit 1'], publicKey: key.publicKey });
      assert.equal((await signerError(signer.sign(pae))).code, 'SIGNER_EXIT');
    });
    it('a command that exits without reading stdin is SIGNER_EXIT, not a crash', async () => {
      const signer = createCommandSigner({ command: ['sh', '-c', 'exit 2'], publicKey: key.publicKey });
      assert.equal((await signerError(signer.sign(new Uint8Array(1 << 20)))).code, 'SIGNER_EXIT');
    });
    it('garbage on stdout is SIGNER_OUTPUT', async () => {
      const signer = createCommandSigner({ command: ['sh', '-c', 'cat >/dev/null; echo signed'], publicKey: key.publicKey });
      assert.equal((await signerError(signer.sign(pae))).code, 'SIGNER_OUTPUT');
    });
    it(`more than ${MAX_SIGNER_STDOUT} bytes on stdout is SIGNER_OUTPUT`, async () => {
      const signer = createCommandSigner({ command: ['sh', '-c', 'cat >/dev/null; yes'], publicKey: key.publicKey });
      assert.equal((await signerError(signer.sign(pae))).code, 'SIGNER_OUTPUT');
    });
    it('a signature by another key is SIGNER_BAD_SIGNATURE', async () => {
      const signer = createCommandSigner({ command: [raw, other.file], publicKey: key.publicKey });
      assert.equal((await signerError(signer.sign(pae))).code, 'SIGNER_BAD_SIGNATURE');
    });
    it('a program that does not exist is SIGNER_START', async () => {
      const signer = createCommandSigner({ command: [join(dir, 'no-such-signer')], publicKey: key.publicKey });
      assert.equal((await signerError(signer.sign(pae))).code, 'SIGNER_START');
    });
    it('a command that hangs is SIGNER_TIMEOUT, and its whole process group is gone when the error arrives', async () => {
      const pidFile = join(dir, 'hang.pid');
      const signer = createCommandSigner({ command: ['sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], publicKey: key.publicKey, timeoutMs: 300 });
      assert.equal((await signerError(signer.sign(pae))).code, 'SIGNER_TIMEOUT');
      assert.equal(await running(Number(await readFile(pidFile, 'utf8'))), false, 'the grandchild holding stdout was killed with its group');
    });
  });

  it('refuses a public key the pinned rule does not accept (BAD_KEY) before running anything', () => {
    assert.throws(() => createCommandSigner({ command: [raw, key.file], publicKey: new Uint8Array(32) }), { code: 'BAD_KEY' });
  });
});

describe('a node whose config names a signing command', { skip: noOpenssl }, () => {
  const dir = tempDir('stagex-command-node');
  let config: string;
  let key: Awaited<ReturnType<typeof opensslKey>>;
  const useCommand = async (command: string[]) => {
    const { signingKey, ...json } = JSON.parse(await readFile(config, 'utf8'));
    const publicKey = toHex(key.publicKey);
    await writeFile(config, JSON.stringify({ ...json, signer: { command, publicKey, timeoutSeconds: 10 }, trust: { threshold: 1, keys: [{ name: 'cara', publicKey }] }, api: { listen: join(dir, 'no-daemon.sock') } }));
  };
  const attest = (digest: string) => sx('-c', config, 'attest', '--image', 'core-hello', '--input-digest', hex64('input'), '--digest', digest, '--json');
  const votes = async () => JSON.parse((await sx('-c', config, 'query', '--key', 'cara', '--json')).out).votes as { digest: string }[];

  before(async () => {
    key = await opensslKey(dir, 'card');
    const init = await sx('init', join(dir, 'cara'), '--name', 'cara', '--json');
    assert.equal(init.code, 0, init.err);
    config = JSON.parse(init.out).config;
  });

  it('stores nothing when the command fails (exit 3)', async () => {
    await useCommand(['sh', '-c', 'cat >/dev/null; exit 1']);
    assert.equal((await attest(hex64('a'))).code, 3);
    assert.deepEqual(await votes(), []);
  });
  it('attests through OpenSSL: `keys` names the command\'s key and the vote is stored', async () => {
    await useCommand([await opensslSignCommand(dir), key.file]);
    const result = await attest(hex64('b'));
    assert.equal(result.code, 0, result.err);
    assert.equal(JSON.parse((await sx('-c', config, 'keys', '--json')).out).own.publicKey, toHex(key.publicKey));
    assert.deepEqual((await votes()).map((v) => v.digest), [hex64('b')]);
  });
});

