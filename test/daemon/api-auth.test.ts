import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { sx } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hex64 } from '../helpers/fixtures.ts';
import { freePort } from '../../scripts/local-network.ts';
import { loadContext, type NodeContext } from '../../daemon/context.ts';
import { startNode, type RunningNode } from '../../daemon/node.ts';
import { startApi } from '../../daemon/api.ts';
import { apiTokenPath, writeApiToken } from '../../daemon/api-token.ts';
import { askDaemon, localApi } from '../../daemon/client.ts';
import { StagexError } from '../../protocol/errors.ts';
import { PROOF_HEADER } from '../../daemon/api-auth.ts';

const quiet = { log: () => {}, build: false };

/** A fresh node `name` in `root` whose API listens on `listen`; its own key alone is trusted (threshold 1). */
async function makeNode(root: string, name: string, listen: string): Promise<NodeContext> {
  const dir = join(root, name);
  assert.equal((await sx('init', dir, '--name', name)).code, 0);
  const file = join(dir, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  config.api = { listen };
  await writeFile(file, JSON.stringify(config));
  return loadContext(file);
}

const codeOfRejection = (promise: Promise<unknown>) => promise.then(() => assert.fail('expected a rejection'), (error: unknown) => {
  assert.ok(error instanceof StagexError, `expected a StagexError, got ${String(error)}`);
  return error.code;
});

/** An HTTP answer to a request with the given headers, as a scraper or curl would send it. */
function raw(listen: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; proof: unknown }> {
  const port = Number(listen.split(':')[1]);
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode!, body, proof: res.headers[PROOF_HEADER] }));
    }).on('error', reject).end();
  });
}

describe('local API authentication (DESIGN section 8)', () => {
  const root = tempDir('stagex-apiauth');
  const unknown = hex64('nobody attested this');

  describe('when another process bound the API port first and forges TRUSTED', () => {
    let alice: NodeContext;
    let forger: Server;
    const seen: (string | undefined)[] = [];

    before(async () => {
      const listen = `127.0.0.1:${await freePort()}`;
      alice = await makeNode(root, 'alice-forged', listen);
      // Answers everything with a trusted verdict, and echoes whatever credential it was sent as
      // its "proof": a forger that learns all a request carries.
      forger = createServer((req, res) => {
        seen.push(req.headers.authorization);
        const entry = { image: 'core-busybox', digest: unknown, status: 'trusted', vouchers: [], where: 'forged' };
        res.writeHead(200, { 'content-type': 'application/json', [PROOF_HEADER]: String(req.headers.authorization ?? '').replace(/^\S+ /, '') })
          .end(JSON.stringify({ trusted: true, entries: [entry], failing: [] }));
      });
      await new Promise<void>((resolve) => forger.listen(Number(listen.split(':')[1]), '127.0.0.1', resolve));
    });
    after(() => forger.close());

    it('with no token file, verify asks nobody and the store says NOT TRUSTED: exit 1', async () => {
      const result = await sx('-c', alice.config.file, 'verify', `core-busybox@sha256:${unknown}`);
      assert.equal(result.code, 1, result.out + result.err);
      assert.doesNotMatch(result.out, /^TRUSTED/m);
      assert.equal(seen.length, 0, 'no request was sent');
    });

    describe('with a dead daemon\'s token file left behind', () => {
      before(async () => {
        await writeApiToken(alice.config.dir);
      });

      it('verify does not believe the forged answer: NOT TRUSTED from the store, exit 1', async () => {
        const result = await sx('-c', alice.config.file, 'verify', `core-busybox@sha256:${unknown}`);
        assert.equal(result.code, 1, result.out + result.err);
        assert.doesNotMatch(result.out, /^TRUSTED/m);
        assert.ok(seen.length > 0, 'the forger was asked');
        const token = (await readFile(apiTokenPath(alice.config.dir), 'utf8')).trim();
        assert.ok(seen.every((a) => a !== undefined && !a.includes(token)), 'the token itself never left the client');
      });

      it('status, which has no store to fall back to, fails API_UNAUTHENTICATED', async () => {
        assert.equal(await codeOfRejection(askDaemon(alice, '/status')), 'API_UNAUTHENTICATED');
        assert.equal((await sx('-c', alice.config.file, 'status')).code, 3);
      });
    });
  });

  describe('when a daemon of another config answers on the address', () => {
    let alice: NodeContext;
    let bob: NodeContext;
    let bobNode: RunningNode;

    before(async () => {
      const listen = `127.0.0.1:${await freePort()}`;
      alice = await makeNode(root, 'alice-shared', listen);
      bob = await makeNode(root, 'bob-shared', listen);
      bobNode = await startNode(bob, quiet);
      // bob trusts the digest (his own key, threshold 1); alice's config does not.
      assert.equal((await sx('-c', bob.config.file, 'attest', '--image', 'core-busybox', '--input-digest', hex64('in'), '--digest', unknown)).code, 0);
      assert.equal((await sx('-c', bob.config.file, 'verify', `core-busybox@sha256:${unknown}`)).code, 0);
      await writeApiToken(alice.config.dir);
    });
    after(() => bobNode.stop());

    it('refuses it: alice\'s status fails API_UNAUTHENTICATED, and her verify answers from her own store', async () => {
      assert.equal(await codeOfRejection(askDaemon(alice, '/status')), 'API_UNAUTHENTICATED');
      const result = await sx('-c', alice.config.file, 'verify', `core-busybox@sha256:${unknown}`);
      assert.equal(result.code, 1, result.out + result.err);
      assert.doesNotMatch(result.out, /^TRUSTED/m);
    });
  });

  describe('a running daemon', () => {
    let carol: NodeContext;
    let node: RunningNode;
    let listen: string;

    before(async () => {
      listen = `127.0.0.1:${await freePort()}`;
      carol = await makeNode(root, 'carol', listen);
      node = await startNode(carol, quiet);
    });
    after(() => node.stop());

    it('writes its token to a 0600 api.token beside the config', async () => {
      const info = await stat(apiTokenPath(carol.config.dir));
      assert.equal(info.mode & 0o777, 0o600);
      assert.match(await readFile(apiTokenPath(carol.config.dir), 'utf8'), /^[0-9a-f]{64}\n$/);
    });

    for (const [name, headers] of [['no token', {}], ['another token', { authorization: `Bearer ${hex64('other')}` }]] as const) {
      it(`answers a request with ${name} 401 and nothing else, on every route`, async () => {
        for (const path of ['/status', '/metrics', `/query?image=core-busybox`, '/envelopes']) {
          const reply = await raw(listen, path, headers);
          assert.equal(reply.status, 401, path);
          assert.equal(JSON.parse(reply.body).error.code, 'UNAUTHORIZED');
          assert.deepEqual(Object.keys(JSON.parse(reply.body)), ['error']);
          assert.equal(reply.proof, undefined);
        }
      });
    }

    it('serves /metrics to a scraper with Authorization: Bearer <api.token>', async () => {
      const token = (await readFile(apiTokenPath(carol.config.dir), 'utf8')).trim();
      const reply = await raw(listen, '/metrics', { authorization: `Bearer ${token}` });
      assert.equal(reply.status, 200);
      assert.match(reply.body, /stagex_store_envelopes/);
    });

    it('serves the CLI: attest, status, query, verify, import, export', async () => {
      const c = (...args: string[]) => sx('-c', carol.config.file, ...args);
      const file = join(root, 'carol-envelope.json');
      const digest = hex64('carol good');
      assert.equal((await c('attest', '--image', 'core-busybox', '--input-digest', hex64('in'), '--digest', digest, '--out', file)).code, 0);
      // The daemon holds the store: each of these answers came through the authenticated API.
      assert.equal(JSON.parse((await c('status', '--json')).out).name, 'carol');
      assert.equal(JSON.parse((await c('query', '--image', 'core-busybox', '--json')).out).verdicts[0].status, 'trusted');
      const verify = await c('verify', `core-busybox@sha256:${digest}`);
      assert.equal(verify.code, 0, verify.out + verify.err);
      assert.match(verify.out, /^TRUSTED/m);
      const imported = await c('import', file, '--json');
      assert.equal(JSON.parse(imported.out).outcomes[0].result, 'present');
      const out = join(root, 'carol-export');
      assert.equal((await c('export', out)).code, 0);
      assert.equal((await readdir(join(out, 'envelopes'))).length, 1);
      assert.equal(await readFile(join(out, 'digests', 'core.txt'), 'utf8'), `${digest} core-busybox\n`);
    });

    it('removes the token file on stop, and the CLI then reads the store', async () => {
      await node.stop();
      await assert.rejects(stat(apiTokenPath(carol.config.dir)), { code: 'ENOENT' });
      assert.equal((await localApi(carol.config)).token, undefined);
      // Exit 1 (unknown), not 3: the store opened, so no daemon holds it.
      assert.equal((await sx('-c', carol.config.file, 'verify', `core-busybox@sha256:${unknown}`)).code, 1);
      node = await startNode(carol, quiet);
    });
  });

  describe('refuses to start', () => {
    it('when the config\'s directory is writable by others (INSECURE_DIR), releasing the store', async () => {
      const dave = await makeNode(root, 'dave', `127.0.0.1:${await freePort()}`);
      await chmod(dave.config.dir, 0o777);
      assert.equal(await codeOfRejection(startNode(dave, quiet)), 'INSECURE_DIR');
      await chmod(dave.config.dir, 0o700);
      const node = await startNode(dave, quiet);
      await node.stop();
    });

    it('when api.listen is a socket in a directory others can enter (INSECURE_DIR)', async () => {
      const dir = join(root, 'open-sockets');
      await mkdir(dir, { mode: 0o755 });
      await chmod(dir, 0o755);
      assert.equal(await codeOfRejection(startApi(join(dir, 'api.sock'), {} as never, hex64('t'))), 'INSECURE_DIR');
    });
  });

  describe('on a unix socket in the node\'s 0700 directory', () => {
    it('serves the CLI through it', async () => {
      const dir = join(root, 'erin');
      const erin = await makeNode(root, 'erin', join(dir, 'api.sock'));
      const node = await startNode(erin, quiet);
      try {
        assert.equal((await sx('-c', erin.config.file, 'attest', '--image', 'core-busybox', '--input-digest', hex64('in'), '--digest', hex64('erin'))).code, 0);
        assert.equal(JSON.parse((await sx('-c', erin.config.file, 'status', '--json')).out).name, 'erin');
        assert.equal((await sx('-c', erin.config.file, 'verify', `core-busybox@sha256:${hex64('erin')}`)).code, 0);
      } finally {
        await node.stop();
      }
    });
  });
});
