import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { answering, health, makeCluster, startMember, stopMember, type Member } from '../../scripts/local-network.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('stagex-node start (daemon/runtime-tuning.ts)', () => {
  const members: Member[] = [];
  after(async () => {
    for (const m of members) await stopMember(m);
  });

  it('runs the daemon in the process it was started as, with the capped young generation, and says when its index is ready', async () => {
    const [alice] = await makeCluster(join(tempDir('stagex-runtime'), 'net'), ['alice'], 1);
    members.push(alice!);
    startMember(alice!, ['--no-build']);
    await answering(alice!, 60_000);
    const pid = alice!.process!.pid!;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    assert.ok(argv.includes('--max-semi-space-size=4'), `the spawned pid runs with the flag: ${argv.join(' ')}`);
    const reply = await health(alice!) as { index?: string } | undefined;
    assert.ok(reply?.index === 'ready' || reply?.index === 'loading', JSON.stringify(reply));
  });
});
