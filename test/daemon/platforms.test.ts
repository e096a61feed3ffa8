import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { i386Probe, runnablePlatforms } from '../../daemon/builder/platforms.ts';
import { hostPlatform } from '../../daemon/builder/machine.ts';

describe('runnablePlatforms', () => {
  it('is detected: the host platform first, and linux/386 only beside linux/amd64', () => {
    const platforms = runnablePlatforms();
    assert.equal(platforms[0], hostPlatform());
    assert.ok(platforms.length === 1 || (platforms[0] === 'linux/amd64' && platforms[1] === 'linux/386'), platforms.join(', '));
  });
  it('probes with a static i386 ELF executable that exits 42 through int 0x80', () => {
    const probe = i386Probe();
    assert.deepEqual([...probe.subarray(0, 7)], [0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    assert.equal(probe.readUInt16LE(18), 3, 'EM_386');
    assert.equal(probe.readUInt32LE(24), 0x08048000 + 84, 'entry right after the headers');
    assert.deepEqual([...probe.subarray(84)], [0xb8, 1, 0, 0, 0, 0xbb, 42, 0, 0, 0, 0xcd, 0x80]);
  });
});
