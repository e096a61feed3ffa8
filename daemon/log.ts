/** Structured logs: one JSON line per event on stderr, with a level and the node's name. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Log = (event: string, fields?: Record<string, unknown>, level?: Level) => void;

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLog(node: string, minimum: Level = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Log {
  return (event, fields = {}, level = levelOf(event)) => {
    if (ORDER[level] < ORDER[minimum]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, node, event, ...fields }) + '\n');
  };
}

/** Events name their outcome; failures and refusals are warnings without each caller saying so. */
export function levelOf(event: string): Level {
  if (/error|failed/.test(event)) return 'error';
  if (/rejected|dropped|conflict|equivocat/.test(event)) return 'warn';
  if (/ignored|dialled|round|envelope\.stored/.test(event)) return 'debug';
  return 'info';
}
