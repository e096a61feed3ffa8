import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, cli, freePort } from '../../scripts/local-network.ts';
import { EXIT } from '../../daemon/commands/env.ts';
import { loadContext } from '../../daemon/context.ts';
import { AttestationStore } from '../../store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A node's config whose API and p2p ports are `api` and `p2p`. */
async function nodeConfig(api: number, p2p: number): Promise<string> {
  const dir = join(tempDir('stagex-node'), 'alice');
  assert.equal((await cli('init', dir, '--name', 'alice')).code, 0);
  const file = join(dir, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  config.api = { listen: `127.0.0.1:${api}` };
  config.network = { ...config.network, listen: [`/ip4/127.0.0.1/tcp/${p2p}`] };
  await writeFile(file, JSON.stringify(config));
  return file;
}

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('stagex-node start', () => {
  for (const taken of ['api', 'p2p'] as const) {
    describe(`when the ${taken} port is taken`, () => {
      it('exits non-zero within seconds and releases the store', async () => {
        const [api, p2p] = [await freePort(), await freePort()];
        const file = await nodeConfig(api, p2p);
        const squatter = await occupy(taken === 'api' ? api : p2p);
        try {
          const child = spawn(process.execPath, [CLI, '-c', file, 'start', '--no-build'], { stdio: ['ignore', 'ignore', 'pipe'] });
          const [code] = await Promise.race([
            once(child, 'exit') as Promise<[number | null]>,
            new Promise<never>((_, reject) => setTimeout(() => {
              child.kill('SIGKILL');
              reject(new Error('start still running after 60 s'));
            }, 60_000).unref()),
          ]);
          assert.equal(code, EXIT.error);
          const store = await AttestationStore.open((await loadContext(file)).config.store);
          await store.close();
        } finally {
          squatter.close();
        }
      });
    });
  }
});
