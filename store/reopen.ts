/**
 * Reopening the store after a failed write (a full disk, an I/O error). LevelDB cannot go on
 * after one: the log may hold part of the failed batch, and a record appended behind it would
 * be acknowledged and then dropped when the log is replayed; a failed compaction fails every
 * later write. Closing and opening again replays the log up to the torn record, writes its
 * content to a table and starts a fresh log. Reads wait at a gate while that happens (they are
 * never refused), and it is only tried once the disk has room for the replay.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** Room the replay needs beyond the size of the logs it turns into a table. */
const MARGIN = 1024 * 1024;

/** Why the store at `path` cannot be reopened now (too little free space), or undefined when it can. */
export async function noRoomToReopen(path: string): Promise<string | undefined> {
  const [space, names] = await Promise.all([statfs(path), readdir(path)]);
  const sizes = await Promise.all(names.filter((n) => n.endsWith('.log')).map(async (n) => (await stat(join(path, n))).size));
  const need = sizes.reduce((a, b) => a + b, 0) + MARGIN;
  const free = space.bavail * space.bsize;
  return free >= need ? undefined : `${free} bytes free, expected at least ${need} (its log and 1 MiB) to reopen it`;
}

/**
 * Reads run together; `exclusive` holds new ones back, waits for those running, and runs alone.
 * A read that does not end (a stalled client streaming GET /envelopes) cannot hold writes back
 * for ever: past `waitMs`, exclusive gives up, lets reads in again and returns false.
 */
export class ReadGate {
  #active = 0;
  #closed: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  async enter(): Promise<void> {
    while (this.#closed) await this.#closed;
    this.#active += 1;
  }

  leave(): void {
    this.#active -= 1;
    if (this.#active === 0) this.#idle?.();
  }

  async read<T>(work: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  async exclusive(work: () => Promise<void>, waitMs: number): Promise<boolean> {
    let open!: () => void;
    this.#closed = new Promise((resolve) => { open = resolve; });
    try {
      if (this.#active > 0) {
        let timer: NodeJS.Timeout | undefined;
        const idle = await new Promise<boolean>((resolve) => {
          this.#idle = () => resolve(true);
          timer = setTimeout(() => resolve(false), waitMs);
        });
        clearTimeout(timer);
        if (!idle) return false;
      }
      await work();
      return true;
    } finally {
      this.#idle = undefined;
      this.#closed = undefined;
      open();
    }
  }
}
