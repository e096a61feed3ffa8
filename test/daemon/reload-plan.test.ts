import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../daemon/config.ts';
import { planReload } from '../../daemon/reload-plan.ts';
import { hex64 } from '../helpers/fixtures.ts';

const example = JSON.parse(readFileSync(fileURLToPath(new URL('../../config.example.json', import.meta.url)), 'utf8'));
const peer = (n: number) => `/ip4/127.0.0.1/tcp/${4000 + n}/p2p/12D3KooWPeer${n}`;
const running = parseConfig({ ...example, network: { ...example.network, bootstrap: [peer(1), peer(2)] } }, '/etc/stagex/config.json');
/** The example config with `edit` applied to a copy of its JSON. */
const edited = (edit: (json: any) => void) => {
  const json = structuredClone({ ...example, network: { ...example.network, bootstrap: [peer(1), peer(2)] } });
  edit(json);
  return parseConfig(json, '/etc/stagex/config.json');
};

describe('planReload', () => {
  it('the same file: nothing changed, nothing needs a restart', () => {
    const plan = planReload(running, edited(() => {}));
    assert.equal(plan.changed, false);
    assert.deepEqual(plan.needsRestart, []);
    assert.deepEqual(plan.trust, { added: [], removed: [], changed: [], revoked: [], unrevoked: [] });
    assert.deepEqual(plan.config, running);
  });

  it('trust: the threshold, signers added, removed and changed, revocations added and removed', () => {
    const plan = planReload({ ...running, trust: { ...running.trust, revoked: [hex64('old')] } }, edited((json) => {
      json.trust.threshold = 3;
      json.trust.keys = json.trust.keys.filter((k: { name: string }) => k.name !== 'bob');
      json.trust.keys[0].publicKey = hex64('alice new');
      json.trust.keys.push({ name: 'dave', publicKey: hex64('dave') });
      json.trust.revoked = [hex64('lost')];
    }));
    assert.equal(plan.changed, true);
    assert.deepEqual(plan.trust, { threshold: { from: 2, to: 3 }, added: ['dave'], removed: ['bob'], changed: ['alice'], revoked: [hex64('lost')], unrevoked: [hex64('old')] });
    assert.equal(plan.config.trust.threshold, 3);
    assert.deepEqual(plan.needsRestart, []);
  });

  it('bootstrap: peers added and removed apply', () => {
    const plan = planReload(running, edited((json) => { json.network.bootstrap = [peer(2), peer(3)]; }));
    assert.equal(plan.changed, true);
    assert.deepEqual(plan.bootstrap, { added: [peer(3)], removed: [peer(1)] });
    assert.deepEqual(plan.config.network.bootstrap, [peer(2), peer(3)]);
  });

  it('listen addresses, keys, store, API, builder and names need a restart: reported, and the running values kept', () => {
    const plan = planReload(running, edited((json) => {
      json.name = 'bob';
      json.networkId = 'other';
      json.signingKey = 'other-key.pem';
      json.store = 'elsewhere';
      json.network.listen = ['/ip4/127.0.0.1/tcp/5001'];
      json.network.identityKey = 'other-identity.key';
      json.api = { listen: '127.0.0.1:7781' };
      json.builder.assign = 'auto';
    }));
    assert.equal(plan.changed, false);
    assert.deepEqual(plan.needsRestart, ['name', 'networkId', 'signingKey', 'store', 'api', 'builder', 'network.listen', 'network.identityKey']);
    assert.deepEqual(plan.config, running);
  });

  it('a reloadable and a restart-only change together: the first applies, the second is kept', () => {
    const plan = planReload(running, edited((json) => {
      json.trust.threshold = 1;
      json.network.listen = ['/ip4/127.0.0.1/tcp/5001'];
    }));
    assert.equal(plan.config.trust.threshold, 1);
    assert.deepEqual(plan.config.network.listen, running.network.listen);
    assert.deepEqual(plan.needsRestart, ['network.listen']);
  });
});
