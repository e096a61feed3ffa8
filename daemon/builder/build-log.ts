/**
 * A build's whole log on disk, `<outputs>/<inputDigest>/build.log`, beside what it made: the
 * error keeps only the last lines, the file keeps the rest for whoever has to read why. Capped,
 * so a build that prints without end cannot fill the disk: past the cap one line, starting with
 * TRUNCATED_MARKER, says so (the status page serves the file as it is: daemon/page/server.ts).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { BuildEvent } from './build-progress.ts';

/** The most bytes of one build's log kept on disk (64 MiB). */
export const BUILD_LOG_MAX_BYTES = 64 * 1024 * 1024;

/** How the line that ends a capped log begins. */
export const TRUNCATED_MARKER = '----- TRUNCATED';

export function truncatedMarker(maxBytes: number): string {
  return `${TRUNCATED_MARKER}: this log was cut at ${maxBytes} bytes; the build printed more -----\n`;
}

export interface BuildLog {
  /** Appends one event as a line. */
  write(event: BuildEvent): void;
  close(): Promise<void>;
}

export function openBuildLog(path: string, maxBytes = BUILD_LOG_MAX_BYTES): BuildLog {
  const file = createWriteStream(path, { flags: 'w', mode: 0o644 });
  let written = 0;
  let truncated = false;
  let failed: Error | undefined;
  file.on('error', (error) => {
    failed = error;
  });
  return {
    write(event) {
      if (truncated || failed) return;
      const line = `${lineOf(event)}\n`;
      const bytes = Buffer.byteLength(line);
      if (written + bytes > maxBytes) {
        truncated = true;
        file.write(truncatedMarker(maxBytes));
        return;
      }
      written += bytes;
      file.write(line);
    },
    async close() {
      if (!failed) {
        file.end();
        await once(file, 'close').catch(() => undefined);
      }
    },
  };
}

function lineOf(event: BuildEvent): string {
  switch (event.kind) {
    case 'log': return `${event.step === '' ? '' : `[${event.step}] `}${event.line}`;
    case 'warning': return `WARNING [${event.step}] ${event.message}`;
    case 'step': return `${event.id} ${event.name}${event.completed ? (event.error !== undefined ? ` ERROR: ${event.error}` : event.cached ? ' CACHED' : ' DONE') : ''}`;
  }
}
