/**
 * Starts the hostile peer (test/helpers/hostile-peer.ts) as its own process and collects the
 * JSON lines it prints: when it connected, what it sent, when each honest node cut it off and
 * refused its re-dials.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FlooderOptions } from './flooder-options.ts';

const SCRIPT = fileURLToPath(new URL('./hostile-peer.ts', import.meta.url));

export interface FlooderEvent {
  t: number;
  event: 'started' | 'connected' | 'disconnected' | 'dial_refused' | 'sent' | 'done';
  peer?: string;
  peerId?: string;
  error?: string;
  sent?: Record<string, number>;
  connected?: string[];
}

export interface Flooder {
  /** Every line printed so far, in order. */
  events: FlooderEvent[];
  /** The flooder's libp2p peer id, once it has started. */
  peerId: Promise<string>;
  /** Resolves with the exit code when the flood is over. */
  exited: Promise<number | null>;
  /** What went to stderr (a crash's stack). */
  stderr: () => string;
  process: ChildProcess;
}

export function startFlooder(options: FlooderOptions): Flooder {
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: FlooderEvent[] = [];
  let stderr = '';
  let partial = '';
  let resolvePeerId: (id: string) => void;
  let rejectPeerId: (error: Error) => void;
  const peerId = new Promise<string>((resolve, reject) => { resolvePeerId = resolve; rejectPeerId = reject; });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line) as FlooderEvent;
      events.push(event);
      if (event.event === 'started') resolvePeerId(event.peerId!);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    rejectPeerId(new Error(`the hostile peer exited (${code}) before starting: ${stderr}`));
    resolve(code);
  }));
  peerId.catch(() => undefined);
  return { events, peerId, exited, stderr: () => stderr, process: child };
}
