/**
 * Signing and storing one attestation (DESIGN section 4): the path both the builder and the
 * manual `stagex-node attest` take. The signed bytes go through the same validation pipeline
 * as everything a peer sends before they are stored.
 */
import { encodeEnvelope, signEnvelope } from '../protocol/dsse.ts';
import { readAttestation, type Attestation } from '../protocol/attestation.ts';
import { buildStatement, PAYLOAD_TYPE, type BuildFacts } from '../protocol/statement.ts';
import type { AttestationStore } from '../store/store.ts';
import type { NodeContext } from './context.ts';

export async function attest(context: NodeContext, store: AttestationStore, facts: BuildFacts): Promise<Attestation> {
  const payload = new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts)), 'utf8'));
  const bytes = encodeEnvelope(signEnvelope(PAYLOAD_TYPE, payload, [context.signer]));
  const attestation = readAttestation(bytes, context.policy, `own attestation of ${facts.image}`);
  await store.put(attestation);
  return attestation;
}
