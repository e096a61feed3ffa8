import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from '../../scripts/local-network.ts';
import { loadContext } from '../../daemon/context.ts';
import { createReloader, type Reloadable } from '../../daemon/reload.ts';
import type { TrustPolicy } from '../../protocol/trust.ts';
import { hex64, signer } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { toHex } from '../../protocol/encoding.ts';

/** A node's config (made by `init`), its context, and services that record what reached them. */
async function setup() {
  const dir = join(tempDir('stagex-reloader'), 'node');
  const init = await cli('init', dir, '--name', 'alice', '--network-id', 'test', '--json');
  assert.equal(init.code, 0, init.err);
  const { config } = JSON.parse(init.out) as { config: string };
  const context = await loadContext(config);
  const calls: string[] = [];
  const services: Reloadable = {
    peer: { setBootstrap: (addrs) => { calls.push(`bootstrap ${addrs.length}`); } },
    pool: { setTrust: (trust) => { calls.push(`pool M=${trust.threshold}`); } },
    gossip: { setPolicy: (policy: TrustPolicy) => { calls.push(`gossip M=${policy.threshold}`); } },
    sync: { setPolicy: async (policy: TrustPolicy) => { calls.push(`sync M=${policy.threshold}`); } },
  };
  const logged: { event: string; fields: Record<string, any> }[] = [];
  let applied = 0;
  const reloader = createReloader(context, services, (event, fields = {}) => logged.push({ event, fields }), () => { applied += 1; });
  const edit = async (change: (json: any) => void) => {
    const json = JSON.parse(await readFile(config, 'utf8'));
    change(json);
    await writeFile(config, JSON.stringify(json));
  };
  return { config, context, calls, logged, reloader, edit, applied: () => applied };
}

const bob = toHex(signer(1).publicKey);

describe('createReloader', () => {
  it('applies a new trust section to the context and every service, and says what changed', async () => {
    const { context, calls, logged, reloader, edit, applied } = await setup();
    await edit((json) => {
      json.trust.keys.push({ name: 'bob', publicKey: bob });
      json.trust.threshold = 2;
      json.network.bootstrap = [`/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBobPeer`];
    });
    const summary = await reloader.reload();
    assert.deepEqual(summary.trust, { threshold: { from: 1, to: 2 }, added: ['bob'], removed: [], changed: [], revoked: [], unrevoked: [] });
    assert.deepEqual(summary.bootstrap.added, ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBobPeer']);
    assert.equal(context.policy.threshold, 2);
    assert.ok([...context.policy.voters.values()].includes('bob'));
    assert.deepEqual(context.config.network.bootstrap, summary.bootstrap.added);
    assert.deepEqual(calls, ['bootstrap 1', 'pool M=2', 'gossip M=2', 'sync M=2']);
    assert.equal(applied(), 1);
    assert.deepEqual(reloader.counts, { applied: 1, failed: 0 });
    assert.equal(logged.at(-1)!.event, 'config.reloaded');
  });

  for (const [what, change, message] of [
    ['a field zod refuses', (json: any) => { json.trust.threshold = 0; }, /trust\.threshold/],
    ['M above N', (json: any) => { json.trust.threshold = 3; }, /threshold: expected a whole number from 1 to 1/],
    ['a weak public key', (json: any) => { json.trust.keys.push({ name: 'zero', publicKey: hex64('x').replace(/./g, '0') }); }, /zero/],
    ['an unknown field', (json: any) => { json.trust.quorum = 2; }, /quorum/],
  ] as const) {
    it(`${what}: refused, logged where and why, and nothing changes`, async () => {
      const { config, context, calls, logged, reloader, edit, applied } = await setup();
      const before = { config: context.config, policy: context.policy, trust: context.trust, keyring: context.keyring };
      await edit((json) => {
        json.network.bootstrap = [`/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBobPeer`];
        change(json);
      });
      await assert.rejects(reloader.reload(), (error: Error & { code?: string }) => error.code === 'BAD_CONFIG' && message.test(error.message));
      assert.deepEqual({ config: context.config, policy: context.policy, trust: context.trust, keyring: context.keyring }, before);
      assert.equal(context.policy, before.policy, 'the very same policy object');
      assert.deepEqual(calls, []);
      assert.equal(applied(), 0);
      assert.deepEqual(reloader.counts, { applied: 0, failed: 1 });
      const failure = logged.at(-1)!;
      assert.equal(failure.event, 'config.reload_failed');
      assert.ok(failure.fields.error.includes(config), 'names the file');
      assert.match(failure.fields.error, message);
    });
  }

  it('a file gone or not JSON: refused, nothing changes; reloads run one at a time', async () => {
    const { config, context, reloader } = await setup();
    const { policy } = context;
    await rename(config, `${config}.away`);
    await assert.rejects(reloader.reload(), (error: Error & { code?: string }) => error.code === 'CONFIG_NOT_FOUND');
    await rename(`${config}.away`, config);
    const text = await readFile(config, 'utf8');
    await writeFile(config, '{');
    await assert.rejects(reloader.reload(), (error: Error & { code?: string }) => error.code === 'BAD_CONFIG' && /not valid JSON/.test(error.message));
    assert.equal(context.policy, policy);
    await writeFile(config, text);
    const [first, second] = await Promise.all([reloader.reload(), reloader.reload()]);
    assert.equal(first.changed, false);
    assert.equal(second.changed, false);
    assert.deepEqual(reloader.counts, { applied: 2, failed: 2 });
  });
});
