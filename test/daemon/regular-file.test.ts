import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFile } from '../../daemon/regular-file.ts';
import { DaemonError } from '../../daemon/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

const notAFile = (error: unknown) => error instanceof DaemonError && error.code === 'NOT_A_FILE';

describe('readRegularFile', () => {
  it('reads a small file whole', async () => {
    const path = join(tempDir('stagex-read'), 'small');
    await writeFile(path, 'hello');
    assert.equal(Buffer.from(await readRegularFile(path, 64)).toString(), 'hello');
  });

  it('reads at most limit + 1 bytes of a larger file', async () => {
    const path = join(tempDir('stagex-read'), 'large');
    await writeFile(path, Buffer.alloc(1000, 1));
    assert.equal((await readRegularFile(path, 64)).length, 65);
  });

  describe('when the path is not a regular file', () => {
    it('refuses /dev/zero with NOT_A_FILE', async () => {
      await assert.rejects(readRegularFile('/dev/zero', 64), notAFile);
    });

    it('refuses a FIFO with no writer with NOT_A_FILE, without blocking', async () => {
      const fifo = join(tempDir('stagex-read'), 'fifo');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      await assert.rejects(readRegularFile(fifo, 64), notAFile);
    });

    it('refuses a directory with NOT_A_FILE', async () => {
      await assert.rejects(readRegularFile(tempDir('stagex-read'), 64), notAFile);
    });
  });
});
