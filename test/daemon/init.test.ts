import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { nameFromHost } from '../../daemon/commands/init.ts';
import { sx } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { freePort, makeCluster, startMember, status, stopMember, until, type Member } from '../../scripts/local-network.ts';

describe('nameFromHost', () => {
  it('keeps a host name names allow', () => {
    assert.equal(nameFromHost('build-01.example.org'), 'build-01.example.org');
  });
  it('makes each run of other characters one dash and trims dashes and dots at the ends', () => {
    assert.equal(nameFromHost('my host (2)'), 'my-host-2');
    assert.equal(nameFromHost('.-ümlaut-.'), 'mlaut');
  });
  it('cuts at 64 characters and falls back to stagex-node when nothing is left', () => {
    assert.equal(nameFromHost('a'.repeat(63) + '-b'), 'a'.repeat(63));
    assert.equal(nameFromHost('ßßß'), 'stagex-node');
    assert.equal(nameFromHost(''), 'stagex-node');
  });
});

describe('stagex-node init', () => {
  const dir = tempDir('stagex-init');
  const peer = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';

  it('names the node after the host when --name is not given', async () => {
    const result = await sx('init', join(dir, 'host'), '--json');
    assert.equal(result.code, 0, result.err);
    const config = JSON.parse(await readFile(join(dir, 'host', 'config.json'), 'utf8'));
    assert.equal(config.name, nameFromHost(hostname()));
    assert.deepEqual(config.trust.keys.map((k: { name: string }) => k.name), [config.name]);
  });
  it('--join writes the peer into network.bootstrap, with the --network-id given', async () => {
    const result = await sx('init', join(dir, 'joiner'), '--name', 'joiner', '--join', peer, '--network-id', 'lab');
    assert.equal(result.code, 0, result.err);
    const config = JSON.parse(await readFile(join(dir, 'joiner', 'config.json'), 'utf8'));
    assert.deepEqual(config.network.bootstrap, [peer]);
    assert.equal(config.networkId, 'lab');
  });
  for (const [what, address] of [['no peer id', '/ip4/127.0.0.1/tcp/4001'], ['a peer id that is not one', '/ip4/127.0.0.1/tcp/4001/p2p/nope'], ['no TCP port', `/ip4/127.0.0.1/p2p/${peer.split('/').at(-1)}`], ['not a multiaddr', '127.0.0.1:4001']] as const) {
    it(`refuses --join with ${what} (exit 64) and creates nothing`, async () => {
      const target = join(dir, `bad-${what.replaceAll(' ', '-')}`);
      const result = await sx('init', target, '--name', 'x', '--join', address);
      assert.equal(result.code, 64);
      assert.match(result.err, /--join: expected a peer address/);
      await assert.rejects(access(target), { code: 'ENOENT' });
    });
  }

  describe('joining a running network with one command', () => {
    let members: Member[] = [];
    after(async () => {
      for (const member of members) await stopMember(member);
    });
    it('connects the new node to the peer it joined', { timeout: 120_000 }, async () => {
      const [alice] = await makeCluster(join(dir, 'net'), ['alice'], 1, { networkId: 'joined' });
      members = [alice!];
      startMember(alice!);
      await until('alice answers', async () => (await status(alice!)) !== undefined, 60_000);
      const address = `/ip4/127.0.0.1/tcp/${alice!.p2pPort}/p2p/${alice!.peerId}`;
      const init = await sx('init', join(dir, 'net', 'bob'), '--name', 'bob', '--network-id', 'joined', '--join', address, '--json');
      assert.equal(init.code, 0, init.err);
      const { config, publicKey, peerId } = JSON.parse(init.out);
      // Only the API address is changed: two daemons on one machine cannot both have the default.
      const json = JSON.parse(await readFile(config, 'utf8'));
      const bob: Member = { name: 'bob', dir: join(dir, 'net', 'bob'), config, publicKey, peerId, p2pPort: 0, api: `127.0.0.1:${await freePort()}`, log: [] };
      await writeFile(config, JSON.stringify({ ...json, api: { listen: bob.api } }));
      members.push(bob);
      startMember(bob);
      await until('alice sees bob as a peer', async () => (await status(alice!))?.peers >= 1, 60_000);
      await until('bob sees alice as a peer', async () => (await status(bob))?.peers >= 1, 60_000);
    });
  });
});
