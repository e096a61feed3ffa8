import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sx } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hex64 } from '../helpers/fixtures.ts';

describe('trust revoke: a lost or compromised signer stops counting', () => {
  const dir = tempDir('stagex-revoke');
  const nodes: Record<string, { config: string; publicKey: string }> = {};
  const digest = hex64('out core-make');
  const verify = () => sx('-c', nodes.alice!.config, 'verify', `core-make@sha256:${digest}`);

  before(async () => {
    for (const name of ['alice', 'bob', 'carol']) {
      const init = await sx('init', join(dir, name), '--name', name, '--json');
      assert.equal(init.code, 0, init.err);
      nodes[name] = JSON.parse(init.out);
    }
    assert.equal((await sx('-c', nodes.alice!.config, 'trust', 'add', 'bob', nodes.bob!.publicKey)).code, 0);
    assert.equal((await sx('-c', nodes.alice!.config, 'trust', 'add', 'carol', nodes.carol!.publicKey, '--threshold', '2')).code, 0);
    await mkdir(join(dir, 'mail'));
    for (const name of ['bob', 'carol']) {
      const attest = await sx('-c', nodes[name]!.config, 'attest', '--image', 'core-make', '--input-digest', hex64('in'), '--digest', digest, '--out', join(dir, 'mail', `${name}.json`));
      assert.equal(attest.code, 0, attest.err);
    }
    assert.equal((await sx('-c', nodes.alice!.config, 'import', join(dir, 'mail'))).code, 0);
  });

  it('revokes every key of a signer by name, and the verdict falls from trusted to pending', async () => {
    assert.equal((await verify()).code, 0);
    const revoke = await sx('-c', nodes.alice!.config, 'trust', 'revoke', 'carol');
    assert.equal(revoke.code, 0, revoke.err);
    assert.match(revoke.out, /revoked carol: [0-9a-f]{64}/);
    assert.match(revoke.out, /no daemon of this config is running/);
    const after = await verify();
    assert.equal(after.code, 1, after.out);
    assert.match(after.out, /pending: 1 of 2/);
  });

  it('refuses, changing nothing, a revocation that leaves fewer signers than M, a second one, and a name it does not know', async () => {
    const before = await readFile(nodes.alice!.config, 'utf8');
    const tooFew = await sx('-c', nodes.alice!.config, 'trust', 'revoke', 'bob', '--threshold', '3');
    assert.equal(tooFew.code, 3, tooFew.out);
    assert.match(tooFew.err, /threshold/);
    const again = await sx('-c', nodes.alice!.config, 'trust', 'revoke', 'carol');
    assert.notEqual(again.code, 0);
    assert.match(again.err, /already revoked/);
    const unknown = await sx('-c', nodes.alice!.config, 'trust', 'revoke', 'mallory');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.err, /expected a signer name of trust.keys, a keyid \(64 hex\) or an OpenPGP fingerprint/);
    assert.equal(await readFile(nodes.alice!.config, 'utf8'), before, 'the config file is unchanged');
  });
});
