import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { answering, health, makeCluster, startMember, stopMember, type Member } from '../../scripts/local-network.ts';
import { tempDir } from '../helpers/tmp.ts';
import { missingSettings } from '../../daemon/runtime-tuning.ts';

describe('stagex-node start (daemon/runtime-tuning.ts)', () => {
  const members: Member[] = [];
  after(async () => {
    for (const m of members) await stopMember(m);
  });

  it('runs the daemon in the process it was started as, with the capped young generation and gc() exposed, and says when its index is ready', async () => {
    const [alice] = await makeCluster(join(tempDir('stagex-runtime'), 'net'), ['alice'], 1);
    members.push(alice!);
    startMember(alice!, ['--no-build']);
    await answering(alice!, 60_000);
    const pid = alice!.process!.pid!;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    assert.ok(argv.includes('--max-semi-space-size=4') && argv.includes('--expose-gc'), `the spawned pid runs with the flags: ${argv.join(' ')}`);
    const reply = await health(alice!) as { index?: string } | undefined;
    assert.ok(reply?.index === 'ready' || reply?.index === 'loading', JSON.stringify(reply));
  });

  it('adds only the settings nobody chose: on the command line or in NODE_OPTIONS, in either spelling, turned off included', () => {
    assert.deepEqual(missingSettings([], undefined), ['--max-semi-space-size=4', '--expose-gc']);
    assert.deepEqual(missingSettings(['--max-semi-space-size=16'], ''), ['--expose-gc']);
    assert.deepEqual(missingSettings([], '--cpu-prof --max_semi_space_size=2'), ['--expose-gc']);
    assert.deepEqual(missingSettings(['--no-expose-gc'], undefined), ['--max-semi-space-size=4']);
    assert.deepEqual(missingSettings(['--expose_gc'], '--max-semi-space-size=4'), []);
  });
});
