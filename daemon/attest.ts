/**
 * Signing one attestation (DESIGN section 4): the statement of a finished build, serialised
 * once, signed over the DSSE PAE of those exact bytes. The builder and the manual
 * `stagex-node attest` both sign here, then submit the bytes through the same validation
 * pipeline as anything a peer sends. Offline nodes keep the same payload bytes for a signer
 * elsewhere (daemon/signer/waiting.ts).
 */
import { encodeEnvelope, signEnvelope } from '../protocol/dsse.ts';
import type { Signer } from '../protocol/keys.ts';
import { buildStatement, PAYLOAD_TYPE, type BuildFacts } from '../protocol/statement.ts';

/** The statement's payload bytes: serialised once, so every signature covers these exact bytes. */
export function statementPayload(facts: BuildFacts): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts)), 'utf8'));
}

/** The envelope bytes of `payload` signed by `signer`. */
export async function signAttestation(signer: Signer, payload: Uint8Array): Promise<Uint8Array> {
  return encodeEnvelope(await signEnvelope(PAYLOAD_TYPE, payload, [signer]));
}
