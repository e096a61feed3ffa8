/**
 * Build progress on a terminal (`build`, `start`): the events feed a live status line, steps go
 * only to that line, everything else still prints; on a real pseudo-terminal (`script`) the line
 * is redrawn below each printed line, and without a terminal nothing but plain lines appears.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withProgress } from '../../daemon/terminal-progress.ts';
import type { Io } from '../../daemon/commands/env.ts';

const ENV = fileURLToPath(new URL('../../daemon/commands/env.ts', import.meta.url));

describe('terminal progress', () => {
  it('takes its total from the daemon builder\'s plan, shows steps only in the line, and clears it when done', () => {
    const lines: string[] = [];
    const statuses: string[] = [];
    const io: Io = { out: () => {}, err: (t) => void lines.push(t), status: (t) => void statuses.push(t) };
    const logged: string[] = [];
    const log = withProgress(io, (event) => void logged.push(event));
    log('node.started', {});
    assert.deepEqual(statuses, [], 'no line before anything is planned');
    log('builder.plan', { steps: [{ image: 'core-a' }, { image: 'core-b' }] });
    log('build.started', { image: 'core-a' });
    log('build.step_started', { image: 'core-a', step: 'RUN make' });
    assert.match(statuses.at(-1)!, /^\[1\/2\] core-a > RUN make \(\d+s\) \| \d+s elapsed$/);
    log('build.built', { image: 'core-a', digest: 'x' });
    log('build.reused', { image: 'core-b', digest: 'y' });
    assert.equal(statuses.at(-1), '', 'the line is cleared once everything is done');
    assert.deepEqual(logged, ['node.started', 'builder.plan', 'build.started', 'build.built', 'build.reused'], 'step events only move the line');
  });

  it('without a terminal the log is left as it is', () => {
    const log = () => {};
    assert.equal(withProgress({ out: () => {}, err: () => {} }, log), log);
  });

  it('on a pseudo-terminal, redraws the status line below each line printed; on a pipe, prints plain lines', () => {
    const program = `import { processIo } from ${JSON.stringify(ENV)}; processIo.status?.('[1/2] core-a'); processIo.err('build.built core-a'); processIo.status?.(''); processIo.err('done');`;
    const tty = spawnSync('script', ['-qec', `${process.execPath} --input-type=module -e ${JSON.stringify(program).replace(/\$/g, '\\$')}`, '/dev/null'], { encoding: 'utf8' });
    assert.equal(tty.status, 0, tty.stderr);
    assert.ok(tty.stdout.includes('\r\x1b[2K[1/2] core-a\r\x1b[2Kbuild.built core-a\r\n[1/2] core-a\r\x1b[2K'), JSON.stringify(tty.stdout));
    const pipe = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    assert.equal(pipe.stderr, 'build.built core-a\ndone\n');
  });
});
