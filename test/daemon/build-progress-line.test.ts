import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duration, onBuildEvent, progressLine, startProgress } from '../../daemon/build-progress-line.ts';

describe('build progress line (terminal)', () => {
  it('counts images, shows the current step, elapsed time and an estimate from this run', () => {
    const state = startProgress(3, 0);
    assert.equal(progressLine(state, 0), '[0/3] preparing | 0s elapsed');
    onBuildEvent(state, 'build.started', { image: 'core-a' }, 1000);
    onBuildEvent(state, 'build.step', { image: 'core-a', step: 'RUN make' }, 2000);
    assert.equal(progressLine(state, 5000), '[1/3] core-a > RUN make (4s) | 5s elapsed');
    onBuildEvent(state, 'build.built', { image: 'core-a', digest: 'x' }, 61_000);
    onBuildEvent(state, 'build.started', { image: 'core-b' }, 61_000);
    assert.equal(progressLine(state, 71_000), '[2/3] core-b (10s) | 1m11s elapsed, ~1m50s left');
    onBuildEvent(state, 'build.failed', { image: 'core-b', reason: 'exit 2' }, 72_000);
    onBuildEvent(state, 'build.reused', { image: 'core-c' }, 72_000);
    assert.equal(progressLine(state, 72_000), '[3/3] done | 1m12s elapsed | 1 failed');
  });

  it('fits the terminal width and formats long runs', () => {
    const state = startProgress(1, 0);
    onBuildEvent(state, 'build.started', { image: `core-${'x'.repeat(200)}` }, 0);
    assert.equal(progressLine(state, 0, 40).length, 40);
    assert.equal(duration(3 * 3600_000 + 5 * 60_000), '3h05m');
  });
});
