/** A verify worker that exits on a batch whose `where` is "crash", and otherwise is the real one. */
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', ({ where }: { where: string }) => {
  if (where === 'crash') process.exit(7);
});
await import('../../daemon/verify-worker.ts');
