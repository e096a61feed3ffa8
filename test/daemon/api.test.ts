import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { cli, freePort } from '../../scripts/local-network.ts';
import { loadContext } from '../../daemon/context.ts';
import { startNode, type RunningNode } from '../../daemon/node.ts';
import { callApi } from '../../daemon/client.ts';
import { hex64, signer, envelopeBytes } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { encodeEnvelope, signEnvelope } from '../../protocol/dsse.ts';
import { onlineSigner } from '../../daemon/signer/load.ts';
import { buildStatement, PAYLOAD_TYPE } from '../../protocol/statement.ts';
import { facts } from '../helpers/fixtures.ts';
import { AttestationStore } from '../../store/store.ts';

describe('local API of a running node', () => {
  let node: RunningNode;
  let api: string;
  let own: Awaited<ReturnType<typeof loadContext>>;

  before(async () => {
    const dir = join(tempDir('stagex-api'), 'alice');
    assert.equal((await cli('init', dir, '--name', 'alice')).code, 0);
    const file = join(dir, 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    api = `127.0.0.1:${await freePort()}`;
    config.api = { listen: api };
    await writeFile(file, JSON.stringify(config));
    own = await loadContext(file);
    node = await startNode(own, { log: () => {} });
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
    const status = await get('/status');
    assert.equal(status.json.store.envelopes, 1);
    const metrics = await get('/metrics');
    assert.match(metrics.json, /stagex_store_envelopes 1/);
  });

  for (const [name, request, code] of [
    ['a bad image name', () => get('/query?image=busybox'), 'BAD_REQUEST'],
    ['two filters at once', () => get(`/query?image=core-x&digest=${hex64('x')}`), 'BAD_REQUEST'],
    ['an unknown parameter', () => get('/query?colour=red'), 'BAD_REQUEST'],
    ['a verify body that is not JSON', () => post('/verify', 'nope'), 'BAD_REQUEST'],
    ['verify entries with a short digest', () => post('/verify', JSON.stringify({ entries: [{ image: 'core-x', digest: 'abc' }] })), 'BAD_REQUEST'],
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
