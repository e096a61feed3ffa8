/**
 * Reading a file named on the command line: only a regular file, and never more than a cap.
 * A device (/dev/zero), a FIFO or a socket would either never end or block; stat then read is
 * racy, so the check is made on the opened descriptor and the read itself is capped.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { DaemonError } from './errors.ts';

/**
 * The bytes of the regular file at `path`, at most `limit + 1` of them: a result longer than
 * `limit` says the file is larger, without reading the rest. NOT_A_FILE for anything else.
 */
export async function readRegularFile(path: string, limit: number): Promise<Uint8Array> {
  // O_NONBLOCK: opening a FIFO with no writer must not hang before the check below.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new DaemonError('NOT_A_FILE', `${path}: expected a regular file, got ${kindOf(info)}`);
    const buffer = new Uint8Array(limit + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** What a stat result is, for messages. */
export function kindOf(info: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSymbolicLink(): boolean }): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'a regular file';
}
