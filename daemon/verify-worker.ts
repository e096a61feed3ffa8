/**
 * A verification worker of daemon/verify-pool.ts: the attestation pipeline on batches, under
 * the policy it started with or the last one sent to it. Envelopes arrive packed in one buffer
 * and the canonical bytes of those that pass go back packed in one transferred buffer
 * (daemon/verify-transfer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readAttestation } from '../protocol/attestation.ts';
import { StagexError } from '../protocol/errors.ts';
import { compileTrust, type TrustPolicyInput } from '../protocol/trust.ts';
import type { WorkerMessage, WorkerReply } from './verify-pool.ts';
import { pack, transferOf, unpack } from './verify-transfer.ts';

let policy = compileTrust(workerData as TrustPolicyInput);

parentPort!.on('message', (message: WorkerMessage) => {
  if ('trust' in message) {
    policy = compileTrust(message.trust);
    return;
  }
  const { id, batch, where } = message;
  const canonical: Uint8Array[] = [];
  const results: WorkerReply['results'] = unpack(batch).map((bytes) => {
    try {
      const { hash, bytes: stored, votes } = readAttestation(bytes, policy, where);
      canonical.push(stored);
      return { hash, votes };
    } catch (error) {
      if (error instanceof StagexError) return { code: error.code, error: error.message };
      return { code: 'INTERNAL', error: (error as Error).message };
    }
  });
  const bytes = pack(canonical);
  parentPort!.postMessage({ id, results, bytes } satisfies WorkerReply, transferOf(bytes));
});
