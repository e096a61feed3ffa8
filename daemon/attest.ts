/**
 * Signing one attestation (DESIGN section 4): the statement of a finished build, serialised
 * once, signed over the DSSE PAE of those exact bytes. The builder and the manual
 * `stagex-node attest` both sign here, then submit the bytes through the same validation
 * pipeline as anything a peer sends.
 */
import { encodeEnvelope, signEnvelope } from '../protocol/dsse.ts';
import { buildStatement, PAYLOAD_TYPE, type BuildFacts } from '../protocol/statement.ts';
import type { NodeContext } from './context.ts';

export function signAttestation(context: NodeContext, facts: BuildFacts): Uint8Array {
  const payload = new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts)), 'utf8'));
  return encodeEnvelope(signEnvelope(PAYLOAD_TYPE, payload, [context.signer]));
}
