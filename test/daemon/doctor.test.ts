import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { runDoctor } from '../../daemon/commands/doctor.ts';
import type { Check } from '../../daemon/doctor/checks.ts';
import { sx } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hex64 } from '../helpers/fixtures.ts';
import { freePort, makeCluster, startMember, status, stopMember, until, type Member } from '../../scripts/local-network.ts';

const PEER_ID = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';

/** A fresh node whose API port is free (the default 7780 may be anyone's). */
async function freshNode(dir: string, name: string): Promise<string> {
  const init = await sx('init', join(dir, name), '--name', name, '--json');
  assert.equal(init.code, 0, init.err);
  const { config } = JSON.parse(init.out) as { config: string };
  const port = await freePort();
  await edit(config, (json) => ({ ...json, api: { listen: `127.0.0.1:${port}` } }));
  return config;
}

async function edit(file: string, change: (json: any) => Promise<unknown> | unknown): Promise<void> {
  await writeFile(file, JSON.stringify(await change(JSON.parse(await readFile(file, 'utf8'))), null, 2));
}

async function doctor(config: string): Promise<{ code: number; ok: boolean; checks: Record<string, Check> }> {
  const result = await sx('-c', config, 'doctor', '--json');
  const { ok, checks } = JSON.parse(result.out) as { ok: boolean; checks: Check[] };
  return { code: result.code, ok, checks: Object.fromEntries(checks.map((c) => [c.id, c])) };
}

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('stagex-node doctor (a real run)', () => {
  const dir = tempDir('stagex-doctor');
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('passes a fresh node that builds nothing (exit 0), every check reported', async () => {
    const result = await doctor(await freshNode(dir, 'fresh'));
    assert.deepEqual(Object.keys(result.checks), ['config', 'engine', 'platforms', 'ports', 'keys', 'data', 'clock', 'bootstrap']);
    for (const id of ['config', 'ports', 'keys', 'clock', 'bootstrap']) assert.equal(result.checks[id]!.status, 'ok', `${id}: ${result.checks[id]!.summary}`);
    // No engine may answer on this machine: a node that builds nothing is only warned.
    assert.notEqual(result.checks.engine!.status, 'fail');
    assert.equal(result.code, 0);
    assert.equal(result.ok, true);
    const text = await sx('-c', join(dir, 'fresh', 'config.json'), 'doctor');
    assert.match(text.out, /^STATUS +CHECK +FOUND\n/);
    assert.match(text.out, /\nOK +keys +signingKey 0600/);
  });

  it('FAILs a missing config with exit 1 and still checks the machine', async () => {
    const result = await doctor(join(dir, 'nowhere', 'config.json'));
    assert.equal(result.code, 1);
    assert.equal(result.checks.config!.status, 'fail');
    assert.ok(result.checks.platforms && result.checks.clock);
  });

  it('FAILs a signing key others may read, with chmod 600 as the fix', async () => {
    const config = await freshNode(dir, 'leaky');
    await chmod(join(dir, 'leaky', 'signing-key.pem'), 0o644);
    const result = await doctor(config);
    assert.equal(result.code, 1);
    assert.equal(result.checks.keys!.status, 'fail');
    assert.equal(result.checks.keys!.fix, `chmod 600 ${join(dir, 'leaky', 'signing-key.pem')}`);
  });

  it('FAILs an API port another process holds', async () => {
    const config = await freshNode(dir, 'taken');
    const { server, port } = await listening();
    servers.push(server);
    await edit(config, (json) => ({ ...json, api: { listen: `127.0.0.1:${port}` } }));
    const result = await doctor(config);
    assert.equal(result.code, 1);
    assert.equal(result.checks.ports!.status, 'fail');
    assert.match(result.checks.ports!.summary, new RegExp(`api\\.listen 127\\.0\\.0\\.1:${port} is held by another process`));
  });

  it('connects to each bootstrap peer: WARN when some answer, FAIL when none does', async () => {
    const config = await freshNode(dir, 'dialler');
    const { server, port } = await listening();
    servers.push(server);
    const closed = await freePort();
    const up = `/ip4/127.0.0.1/tcp/${port}/p2p/${PEER_ID}`;
    const down = `/ip4/127.0.0.1/tcp/${closed}/p2p/${PEER_ID}`;
    await edit(config, (json) => ({ ...json, network: { ...json.network, bootstrap: [up, down] } }));
    const some = await doctor(config);
    assert.equal(some.checks.bootstrap!.status, 'warn');
    assert.match(some.checks.bootstrap!.summary, new RegExp(`1 of 2 .*tcp/${closed}.*ECONNREFUSED`));
    assert.equal(some.code, 0);
    await edit(config, (json) => ({ ...json, network: { ...json.network, bootstrap: [down] } }));
    const none = await doctor(config);
    assert.equal(none.checks.bootstrap!.status, 'fail');
    assert.equal(none.code, 1);
  });

  it('compares the clock with the newest build this node signed (its store, a real attestation)', async () => {
    const config = await freshNode(dir, 'signer');
    const attest = await sx('-c', config, 'attest', '--image', 'core-hello', '--input-digest', hex64('in'), '--digest', hex64('out'));
    assert.equal(attest.code, 0, attest.err);
    const now = (await runDoctor(config)).find((c) => c.id === 'clock')!;
    assert.equal(now.status, 'ok');
    assert.match(now.summary, /after this node's newest signed build/);
    const behind = (await runDoctor(config, () => new Date(Date.now() - 3600_000))).find((c) => c.id === 'clock')!;
    assert.equal(behind.status, 'fail');
    assert.match(behind.summary, /already signed a build/);
  });

  describe('with this node\'s daemon running', () => {
    let member: Member | undefined;
    after(async () => {
      if (member) await stopMember(member);
    });
    it('counts the ports its own daemon holds as OK', { timeout: 120_000 }, async () => {
      [member] = await makeCluster(join(dir, 'net'), ['dora'], 1);
      startMember(member!);
      await until('dora answers', async () => (await status(member!)) !== undefined, 60_000);
      const result = await doctor(member!.config);
      assert.equal(result.checks.ports!.status, 'ok', result.checks.ports!.summary);
      assert.match(result.checks.ports!.summary, /held by this node's own daemon/);
      assert.match(result.checks.clock!.summary, /the running daemon holds the store/);
      assert.equal(result.code, 0);
    });
  });
});
