import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.ts';

const unitFile = fileURLToPath(new URL('../../scripts/stagex-node.service', import.meta.url));
const launcher = fileURLToPath(new URL('../../daemon/bin/stagex-node', import.meta.url));
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });

describe('scripts/stagex-node.service', () => {
  it('runs the daemon as stagex in /var/lib/stagex-node, restarts on failure, reloads with SIGHUP', async () => {
    const unit = await readFile(unitFile, 'utf8');
    for (const line of ['User=stagex', 'StateDirectory=stagex-node', 'Environment=STAGEX_NODE_CONFIG=/var/lib/stagex-node/config.json', 'ExecStart=/usr/local/bin/stagex-node start', 'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/stagex-node']) {
      assert.ok(unit.split('\n').includes(line), `expected the line ${line}`);
    }
  });
  it('passes systemd-analyze verify (ExecStart pointed at this checkout\'s launcher)', { skip: analyze.status === 0 ? false : 'systemd-analyze is not installed' }, async () => {
    const unit = (await readFile(unitFile, 'utf8')).replace('ExecStart=/usr/local/bin/stagex-node', `ExecStart=${launcher}`);
    const copy = join(tempDir('stagex-unit'), 'stagex-node.service');
    await writeFile(copy, unit);
    const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '');
  });
});
