import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { sx } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hex64 } from '../helpers/fixtures.ts';

async function node(dir: string, name: string): Promise<{ config: string; publicKey: string }> {
  const result = await sx('init', join(dir, name), '--name', name, '--json');
  assert.equal(result.code, 0, result.err);
  const { config, publicKey } = JSON.parse(result.out);
  return { config, publicKey };
}

describe('stagex-node CLI', () => {
  const dir = tempDir('stagex-cli');
  const names = ['alice', 'bob', 'carol'] as const;
  const nodes: Record<string, { config: string; publicKey: string }> = {};
  const input = hex64('input');
  const good = hex64('good');
  const bad = hex64('bad');

  before(async () => {
    for (const name of names) nodes[name] = await node(dir, name);
    for (const name of names) {
      const others = names.filter((n) => n !== name);
      assert.equal((await sx('-c', nodes[name]!.config, 'trust', 'add', others[0]!, nodes[others[0]!]!.publicKey)).code, 0);
      assert.equal((await sx('-c', nodes[name]!.config, 'trust', 'add', others[1]!, nodes[others[1]!]!.publicKey, '--threshold', '2')).code, 0);
    }
  });

  describe('init', () => {
    it('writes a 0600 key and a config that loads', async () => {
      const mode = (await stat(join(dir, 'alice', 'signing-key.pem'))).mode & 0o777;
      assert.equal(mode, 0o600);
      const keys = await sx('-c', nodes.alice!.config, 'keys', '--json');
      assert.equal(keys.code, 0, keys.err);
      assert.equal(JSON.parse(keys.out).own.publicKey, nodes.alice!.publicKey);
      assert.equal(JSON.parse(keys.out).threshold, 2);
    });
    it('refuses to overwrite an existing node and changes nothing', async () => {
      const before = await readFile(nodes.alice!.config, 'utf8');
      const again = await sx('init', join(dir, 'alice'), '--name', 'alice');
      assert.equal(again.code, 3);
      assert.match(again.err, /already exists/);
      assert.equal(await readFile(nodes.alice!.config, 'utf8'), before);
    });
  });

  describe('key files', () => {
    it('refuses a signing key readable by group or others', async () => {
      const mallory = await node(dir, 'mallory');
      await chmod(join(dir, 'mallory', 'signing-key.pem'), 0o644);
      const result = await sx('-c', mallory.config, 'keys');
      assert.equal(result.code, 3);
      assert.match(result.err, /0644.*expected 0600/);
    });
  });

  describe('config errors', () => {
    it('name the field path, the bad value and what was expected', async () => {
      const file = join(dir, 'bad-config.json');
      const config = JSON.parse(await readFile(nodes.alice!.config, 'utf8'));
      config.trust.threshold = 'two';
      config.api = { listen: '0.0.0.0:80' };
      await writeFile(file, JSON.stringify(config));
      const result = await sx('-c', file, 'keys');
      assert.equal(result.code, 3);
      assert.match(result.err, /trust\.threshold: .*got "two"/);
      assert.match(result.err, /api\.listen: expected a loopback .*got "0\.0\.0\.0:80"/);
    });
    it('reject a threshold above the number of trusted keys', async () => {
      const result = await sx('-c', nodes.alice!.config, 'trust', 'add', 'dave', hex64('not a point'), '--threshold', '9');
      assert.equal(result.code, 3);
      assert.match(await readFile(nodes.alice!.config, 'utf8'), /"threshold": 2/);
    });
    it('reload with no daemon running says so: exit 3', async () => {
      const result = await sx('-c', nodes.alice!.config, 'reload');
      assert.equal(result.code, 3);
      assert.match(result.err, /no daemon of this config answers on .*stagex-node start/);
    });
    it('report a missing config with a hint', async () => {
      const result = await sx('-c', join(dir, 'nope.json'), 'keys');
      assert.equal(result.code, 3);
      assert.match(result.err, /stagex-node init/);
    });
  });

  describe('attest, import, verify', () => {
    const mail = join(dir, 'mail');
    const attest = (name: string, digest: string) => sx('-c', nodes[name]!.config, 'attest', '--image', 'core-busybox', '--input-digest', input, '--digest', digest, '--out', join(mail, `${name}.json`));

    before(async () => {
      await import('node:fs/promises').then((fs) => fs.mkdir(mail));
      assert.equal((await attest('alice', good)).code, 0);
    });

    it('one vote of two is pending: exit 1', async () => {
      const result = await sx('-c', nodes.alice!.config, 'verify', `core-busybox@sha256:${good}`);
      assert.equal(result.code, 1, result.out + result.err);
      assert.match(result.out, /pending: 1 of 2/);
    });

    it('imports good envelopes and reports bad files one by one', async () => {
      assert.equal((await attest('bob', good)).code, 0);
      await writeFile(join(mail, 'garbage.json'), 'not json');
      await writeFile(join(mail, 'big.json'), ' '.repeat(70_000));
      const result = await sx('-c', nodes.carol!.config, 'import', mail, '--json');
      assert.equal(result.code, 1);
      const outcomes = JSON.parse(result.out).outcomes as { file: string; result: string; code?: string }[];
      const byFile = Object.fromEntries(outcomes.map((o) => [o.file.split('/').pop(), o.code ?? o.result]));
      assert.deepEqual(byFile, { 'alice.json': 'added', 'bob.json': 'added', 'big.json': 'BAD_ENVELOPE', 'garbage.json': 'BAD_ENVELOPE' });
      const again = await sx('-c', nodes.carol!.config, 'import', join(mail, 'alice.json'), '--json');
      assert.equal(JSON.parse(again.out).outcomes[0].result, 'present');
    });

    it('reports /dev/zero and a FIFO as NOT_A_FILE, reading neither: exit 1', async () => {
      const fifo = join(dir, 'envelopes.fifo');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      const result = await sx('-c', nodes.carol!.config, 'import', '/dev/zero', fifo, '--json');
      assert.equal(result.code, 1);
      assert.deepEqual(JSON.parse(result.out).outcomes.map((o: { code?: string }) => o.code), ['NOT_A_FILE', 'NOT_A_FILE']);
    });

    it('two agreeing keys make it trusted: exit 0', async () => {
      const result = await sx('-c', nodes.carol!.config, 'verify', `core-busybox@sha256:${good}`);
      assert.equal(result.code, 0, result.out + result.err);
      assert.match(result.out, /TRUSTED/);
    });

    it('a third key on another digest is a conflict: exit 2, and query says who said what', async () => {
      assert.equal((await attest('carol', bad)).code, 0);
      const result = await sx('-c', nodes.carol!.config, 'verify', `core-busybox@sha256:${good}`);
      assert.equal(result.code, 2);
      assert.match(result.out, /CONFLICT/);
      assert.match(result.out, new RegExp(`${good.slice(0, 12)} by alice, bob vs ${bad.slice(0, 12)} by carol`));
      const json = await sx('-c', nodes.carol!.config, 'verify', `core-busybox@sha256:${good}`, '--json');
      assert.equal(json.code, 2);
      const evidence = JSON.parse(json.out).failing[0].evidence as { digest: string; keys: { signer: string }[] }[];
      assert.deepEqual(evidence.map((d) => [d.digest, d.keys.map((k) => k.signer).sort()]), [[good, ['alice', 'bob']], [bad, ['carol']]]);
      const query = await sx('-c', nodes.carol!.config, 'query', '--image', 'core-busybox');
      assert.match(query.out, /CONFLICT/);
      assert.match(query.out, /alice, bob/);
      assert.match(query.out, /by carol/);
    });

    it('verifies a digests file, and exports trusted digests in the same format', async () => {
      const out = join(dir, 'export');
      assert.equal((await sx('-c', nodes.bob!.config, 'import', join(mail, 'alice.json'))).code, 0);
      assert.equal((await sx('-c', nodes.bob!.config, 'export', out)).code, 0);
      assert.equal(await readFile(join(out, 'digests', 'core.txt'), 'utf8'), `${good} core-busybox\n`);
      assert.equal((await readdir(join(out, 'envelopes'))).length, 2);
      const verify = await sx('-c', nodes.bob!.config, 'verify', join(out, 'digests'));
      assert.equal(verify.code, 0, verify.out);
    });
  });

  describe('bad command-line input', () => {
    it('a malformed digest is a usage error naming the option', async () => {
      const result = await sx('-c', nodes.alice!.config, 'attest', '--image', 'core-x', '--input-digest', 'xyz', '--digest', good);
      assert.equal(result.code, 64);
      assert.match(result.err, /--input-digest: expected 64 lowercase hex/);
    });
    it('a bad image name is a usage error', async () => {
      const result = await sx('-c', nodes.alice!.config, 'verify', `busybox@sha256:${good}`);
      assert.equal(result.code, 64);
      assert.match(result.err, /stage/);
    });
    it('an unknown command is a usage error', async () => {
      assert.equal((await sx('frobnicate')).code, 64);
    });
  });
});
