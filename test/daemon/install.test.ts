/**
 * Installs stagex-node as a user would: `npm pack`, then `npm install -g --prefix <fresh dir>`
 * of the tarball with the system's PATH (whatever node it has, 20 here), and runs the installed
 * command, which must bring and use its own Node 24. Dependencies come from the npm cache when
 * it has them (--prefer-offline), else from the registry; the test skips only when the install
 * fails and the registry does not answer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.ts';
import { freePort, until } from '../../scripts/local-network.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
/** The PATH of a machine without this project: no node_modules/.bin, so `node` is the system's. */
const systemPath = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules')).join(delimiter);
const env = { ...process.env, PATH: systemPath, npm_config_loglevel: 'error' };

function run(command: string, args: string[], cwd: string, timeout = 600_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout });
}

const output = (r: SpawnSyncReturns<string>) => `exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`.slice(-4000);

describe('npm pack and npm install -g', () => {
  it('give a working stagex-node on Node 24 whatever node is on PATH', { timeout: 900_000 }, async (t) => {
    const dir = tempDir('stagex-install');
    const pack = run('npm', ['pack', '--pack-destination', dir, '--json'], root);
    assert.equal(pack.status, 0, output(pack));
    const [{ filename, files }] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
    const shipped = files.map((f) => f.path);
    assert.ok(shipped.includes('daemon/bin/stagex-node') && shipped.includes('daemon/bin/strip-types.js') && shipped.includes('config.schema.json'));
    // prepack strips the types of every shipped .ts file ahead (daemon/bin/prestrip.js), postpack removes them from the tree
    assert.ok(shipped.includes('daemon/bin/stripped/' + createHash('sha256').update(await readFile(join(root, 'daemon/cli.ts'), 'utf8')).digest('hex') + '.js'), 'daemon/cli.ts is shipped stripped');
    assert.ok(!existsSync(join(root, 'daemon/bin/stripped')), 'postpack removed daemon/bin/stripped/');
    assert.deepEqual(shipped.filter((p) => /^(test|bench|packages)\/|^scripts\/(local-network|demo)/.test(p)), [], 'tests, benchmarks and the demo are not shipped');

    const prefix = join(dir, 'prefix');
    // The `node` dependency's install script fetches the Node 24 binary (npm 11 runs it, with a
    // warning; --allow-scripts would reach its nested `npm install` too, which refuses it).
    const install = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, filename)], dir);
    if (install.status !== 0) {
      const ping = run('npm', ['ping'], dir, 60_000);
      if (ping.status !== 0) return t.skip(`the npm registry is unreachable (npm ping: ${output(ping).split('\n').slice(0, 3).join(' ')}) and the install failed`);
      assert.fail(`npm install -g failed:\n${output(install)}`);
    }
    const bin = join(prefix, 'bin', 'stagex-node');
    const shown = run(bin, ['--version'], dir, 60_000);
    assert.equal(shown.status, 0, output(shown));
    assert.equal(shown.stdout.trim(), version);

    const node = run(bin, ['init', 'alice', '--name', 'alice', '--json'], dir, 60_000);
    assert.equal(node.status, 0, output(node));
    assert.equal(JSON.parse(node.stdout).config, join(dir, 'alice', 'config.json'));
    assert.deepEqual((await readdir(join(dir, 'alice'))).sort(), ['config.json', 'peer-identity.key', 'signing-key.pem']);

    // The daemon (libp2p, which needs Node 24; LevelDB's native module) runs from the install too.
    const config = join(dir, 'alice', 'config.json');
    const json = JSON.parse(await readFile(config, 'utf8'));
    await writeFile(config, JSON.stringify({ ...json, api: { listen: `127.0.0.1:${await freePort()}` } }));
    const daemon = spawn(bin, ['-c', config, 'start', '--no-build'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    daemon.stderr!.setEncoding('utf8').on('data', (chunk: string) => { log += chunk; });
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', resolve));
    try {
      await until('the installed daemon answers status', () => run(bin, ['-c', config, 'status', '--json'], dir, 60_000).status === 0, 120_000);
    } catch (error) {
      assert.fail(`${(error as Error).message}; daemon log:\n${log.slice(-3000)}`);
    } finally {
      daemon.kill('SIGTERM');
    }
    assert.equal(await exited, 0, log.slice(-3000));
  });
});
