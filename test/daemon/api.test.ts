import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile, lstat } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { Registry } from 'prom-client';
import { cli, freePort } from '../../scripts/local-network.ts';
import { loadContext } from '../../daemon/context.ts';
import { startNode, type RunningNode } from '../../daemon/node.ts';
import { callApi, localApi, replyError, type LocalApi } from '../../daemon/client.ts';
import { startApi, type ApiHandlers } from '../../daemon/api.ts';
import { StoreError } from '../../store/errors.ts';
import { DaemonError } from '../../daemon/errors.ts';
import { hex64, signer, envelopeBytes } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { encodeEnvelope, signEnvelope } from '../../protocol/dsse.ts';
import { onlineSigner } from '../../daemon/signer/load.ts';
import { buildStatement, PAYLOAD_TYPE } from '../../protocol/statement.ts';
import { facts } from '../helpers/fixtures.ts';
import { AttestationStore } from '../../store/store.ts';

describe('local API of a running node', () => {
  let node: RunningNode;
  let api: LocalApi;
  let own: Awaited<ReturnType<typeof loadContext>>;

  before(async () => {
    const dir = join(tempDir('stagex-api'), 'alice');
    assert.equal((await cli('init', dir, '--name', 'alice')).code, 0);
    const file = join(dir, 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    config.api = { listen: `127.0.0.1:${await freePort()}` };
    await writeFile(file, JSON.stringify(config));
    own = await loadContext(file);
    node = await startNode(own, { log: () => {} });
    api = await localApi(own.config);
  });
  after(async () => {
    await node.stop();
  });

  const get = async (path: string) => {
    const reply = await callApi(api, 'GET', path);
    return { status: reply!.status, json: reply!.body.startsWith('{') || reply!.body.startsWith('[') ? JSON.parse(reply!.body) : reply!.body };
  };
  const post = async (path: string, body: string | Uint8Array) => {
    const reply = await callApi(api, 'POST', path, body);
    return { status: reply!.status, json: JSON.parse(reply!.body) };
  };
  const ownEnvelope = async (digest: string) => encodeEnvelope(await signEnvelope(PAYLOAD_TYPE, new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts({ digest }))))), [onlineSigner(own.signer, 'test')]));

  it('accepts an envelope by a trusted key once, then answers queries and verify', async () => {
    const bytes = await ownEnvelope(hex64('d1'));
    assert.deepEqual((await post('/envelopes', bytes)).json.result, 'added');
    assert.deepEqual((await post('/envelopes', bytes)).json.result, 'present');
    const q = await get('/query?image=core-busybox');
    assert.equal(q.status, 200);
    assert.equal(q.json.verdicts[0].status, 'trusted');
    const v = await post('/verify', JSON.stringify({ entries: [{ image: 'core-busybox', digest: hex64('d1') }] }));
    assert.equal(v.json.trusted, true);
    const built = { image: 'core-busybox', platform: 'linux/amd64', inputDigest: facts().inputDigest };
    const verdicts = await post('/verdicts', JSON.stringify({ identities: [built, { ...built, inputDigest: hex64('never built') }] }));
    assert.deepEqual(verdicts.json.verdicts.map((x: { identity: unknown; status: string }) => [x.identity, x.status]), [[built, 'trusted']]);
    const status = await get('/status');
    assert.equal(status.json.store.envelopes, 1);
    const metrics = await get('/metrics');
    assert.match(metrics.json, /stagex_store_envelopes 1/);
  });

  it('refuses what the per-key cap refuses with 409 and the cap\'s code, not as a daemon failure', async () => {
    const payload = new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts({ digest: hex64('d1'), finishedOn: '2026-11-25T00:02:00.000Z' })))));
    const rebuild = encodeEnvelope(await signEnvelope(PAYLOAD_TYPE, payload, [onlineSigner(own.signer, 'test')]));
    const refused = await post('/envelopes', rebuild);
    assert.deepEqual([refused.status, refused.json.error.code], [409, 'KEY_ALREADY_VOTED']);
  });

  for (const [name, request, code] of [
    ['a bad image name', () => get('/query?image=busybox'), 'BAD_REQUEST'],
    ['two filters at once', () => get(`/query?image=core-x&digest=${hex64('x')}`), 'BAD_REQUEST'],
    ['an unknown parameter', () => get('/query?colour=red'), 'BAD_REQUEST'],
    ['a verify body that is not JSON', () => post('/verify', 'nope'), 'BAD_REQUEST'],
    ['verify entries with a short digest', () => post('/verify', JSON.stringify({ entries: [{ image: 'core-x', digest: 'abc' }] })), 'BAD_REQUEST'],
    ['verdicts of no builds', () => post('/verdicts', JSON.stringify({ identities: [] })), 'BAD_REQUEST'],
    ['verdicts of a build without its platform', () => post('/verdicts', JSON.stringify({ identities: [{ image: 'core-x', inputDigest: hex64('x') }] })), 'BAD_REQUEST'],
    ['an envelope that is not JSON', () => post('/envelopes', 'garbage'), 'BAD_ENVELOPE'],
    ['an envelope by an unknown key', () => post('/envelopes', envelopeBytes(signer(42))), 'UNKNOWN_SIGNER'],
    ['an envelope over 64 KiB', () => post('/envelopes', new Uint8Array(70_000).fill(32)), 'TOO_LARGE'],
  ] as const) {
    it(`refuses ${name} with a clear error and changes nothing`, async () => {
      const before = (await get('/status')).json.store.envelopes;
      const reply = await request();
      assert.ok(reply.status === 400 || reply.status === 413, `status ${reply.status}`);
      assert.equal(reply.json.error.code, code);
      assert.ok(reply.json.error.message.length > 10);
      assert.equal((await get('/status')).json.store.envelopes, before);
    });
  }

  it('answers 404 for an unknown route', async () => {
    assert.equal((await get('/nope')).status, 404);
  });

  it('holds the store: a second opener is told a running node has it', async () => {
    await assert.rejects(AttestationStore.open(own.config.store), (error: Error & { code?: string }) => error.code === 'STORE_OPEN_FAILED' && /running stagex-node/.test(error.message));
  });
});

describe('startApi', () => {
  const failing = (error: Error): ApiHandlers => ({
    health: () => ({}), status: async () => ({}), peers: () => [],
    query: async () => { throw error; },
    verify: async () => ({}), verdicts: async () => ({}), submit: async () => ({}), signatures: async () => ({}),
    envelopes: async function* () {}, reload: async () => { throw error; }, storeCheck: async () => ({}), metrics: new Registry(),
  });
  const token = randomBytes(32).toString('hex');
  const refusal = (promise: Promise<unknown>) => promise.then(() => assert.fail('expected a rejection'), (error: unknown) => error as DaemonError);

  it('answers a reload of an invalid config file with 422 and the file\'s problems, a failing node with 500', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const api = await startApi(listen, failing(new DaemonError('BAD_CONFIG', 'config /x/config.json: 1 problem(s):\ntrust.threshold: expected >= 1, got 0')), token);
    const broken = await startApi(`127.0.0.1:${await freePort()}`, failing(new StoreError('STORE_CLOSED', 'store /x: read after close')), token);
    try {
      const reply = await callApi({ listen, token }, 'POST', '/reload');
      assert.equal(reply!.status, 422);
      const refused = replyError(reply!, 'reload');
      assert.equal(refused.code, 'BAD_CONFIG');
      assert.match(refused.message, /trust\.threshold: expected >= 1, got 0/);
      assert.equal((await callApi({ listen: broken.address, token }, 'POST', '/reload'))!.status, 500);
    } finally {
      await api.close();
      await broken.close();
    }
  });

  describe('when the store fails', () => {
    it('answers a full disk 507 STORE_FULL, and the client keeps that code', async () => {
      const listen = `127.0.0.1:${await freePort()}`;
      const full = new StoreError('STORE_FULL', 'store /x: 1 envelope(s) not stored: the disk is full');
      const api = await startApi(listen, { ...failing(full), submit: async () => { throw full; } }, token);
      try {
        const reply = await callApi({ listen, token }, 'POST', '/envelopes', new Uint8Array(1));
        assert.equal(reply!.status, 507);
        assert.deepEqual(JSON.parse(reply!.body).error, { code: 'STORE_FULL', message: 'POST /envelopes: store /x: 1 envelope(s) not stored: the disk is full' });
        assert.equal(replyError(reply!, 'import').code, 'STORE_FULL');
      } finally {
        await api.close();
      }
    });
    it('answers 500 with the store\'s code, and the client reports DAEMON_FAILED, not NOT_FOUND', async () => {
      const listen = `127.0.0.1:${await freePort()}`;
      const api = await startApi(listen, failing(new StoreError('STORE_CLOSED', 'store /x: read after close')), token);
      try {
        const reply = await callApi({ listen, token }, 'GET', '/query?image=core-busybox');
        assert.equal(reply!.status, 500);
        assert.equal(JSON.parse(reply!.body).error.code, 'STORE_CLOSED');
        assert.equal(replyError(reply!, 'query').code, 'DAEMON_FAILED');
        const bad = await callApi({ listen, token }, 'GET', '/query?colour=red');
        assert.equal(bad!.status, 400);
        assert.equal(replyError(bad!, 'query').code, 'BAD_REQUEST');
      } finally {
        await api.close();
      }
    });
  });

  describe('when a request target is not a URL', () => {
    const raw = (address: string, request: string) => new Promise<string>((resolve, reject) => {
      const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
      const socket = connect(port, host, () => socket.end(request));
      let reply = '';
      socket.on('data', (chunk) => (reply += chunk.toString()));
      socket.on('end', () => resolve(reply.split('\r\n')[0]!));
      socket.on('error', reject);
    });
    it('answers "//[" 401 unauthenticated and 400 authenticated, and keeps serving (new URL threw and crashed the daemon)', async () => {
      const api = await startApi('127.0.0.1:0', failing(new Error('unused')), token);
      try {
        assert.match(await raw(api.address, 'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), / 401 /);
        assert.match(await raw(api.address, `GET //[ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`), / 400 /);
        assert.equal((await callApi({ listen: api.address, token }, 'GET', '/health'))!.status, 200);
      } finally {
        await api.close();
      }
    });
  });

  describe('when api.listen is a path', () => {
    const handlers = failing(new Error('unused'));

    it('refuses a regular file there and leaves it as it was', async () => {
      const path = join(tempDir('stagex-sock'), 'api.sock');
      await writeFile(path, 'precious');
      assert.equal((await refusal(startApi(path, handlers, token))).code, 'BAD_CONFIG');
      assert.equal(await readFile(path, 'utf8'), 'precious');
    });

    it('refuses a socket another process answers on', async () => {
      const path = join(tempDir('stagex-sock'), 'api.sock');
      const other = createServer();
      await new Promise<void>((resolve) => other.listen(path, resolve));
      try {
        assert.equal((await refusal(startApi(path, handlers, token))).code, 'API_IN_USE');
      } finally {
        other.close();
      }
    });

    it('replaces the socket a dead daemon left, and answers on it', async () => {
      const path = join(tempDir('stagex-sock'), 'api.sock');
      const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
      spawnSync(process.execPath, ['-e', script]);
      assert.ok((await lstat(path)).isSocket(), 'the killed process left its socket');
      const api = await startApi(path, handlers, token);
      try {
        assert.equal((await callApi({ listen: path, token }, 'GET', '/health'))!.status, 200);
      } finally {
        await api.close();
      }
    });
  });

  it('refuses a TCP port in use with API_IN_USE', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const first = await startApi(listen, failing(new Error('unused')), token);
    try {
      assert.equal((await refusal(startApi(listen, failing(new Error('unused')), token))).code, 'API_IN_USE');
    } finally {
      await first.close();
    }
  });
});
