/**
 * A verification worker of daemon/verify-pool.ts: the attestation pipeline on batches, under
 * the policy it started with or the last one sent to it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readAttestation } from '../protocol/attestation.ts';
import { StagexError } from '../protocol/errors.ts';
import { compileTrust, type TrustPolicyInput } from '../protocol/trust.ts';
import type { WorkerMessage, WorkerReply } from './verify-pool.ts';

let policy = compileTrust(workerData as TrustPolicyInput);

parentPort!.on('message', (message: WorkerMessage) => {
  if ('trust' in message) {
    policy = compileTrust(message.trust);
    return;
  }
  const { id, batch, where } = message;
  const results: WorkerReply['results'] = batch.map((bytes) => {
    try {
      const { hash, bytes: canonical, votes } = readAttestation(bytes, policy, where);
      return { hash, bytes: canonical, votes };
    } catch (error) {
      if (error instanceof StagexError) return { code: error.code, error: error.message };
      return { code: 'INTERNAL', error: (error as Error).message };
    }
  });
  parentPort!.postMessage({ id, results } satisfies WorkerReply);
});
