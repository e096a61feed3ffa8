/**
 * The trust policy: the N trusted signers, the threshold M and revocations (DESIGN section 5),
 * compiled once into the lookups that verification and verdicts use. A signer is a person or
 * machine with one or more keys: an ed25519 key (attestations) and OpenPGP primary fingerprints
 * (StageX's own image signatures, DESIGN section 4). Each signer counts once, whichever keys it
 * used.
 */
import { checkPublicKey, createVerifier } from './ed25519.ts';
import { ProtocolError } from './errors.ts';
import type { KnownKey } from './dsse.ts';
import { keyidOf } from './keys.ts';
import { fromHex } from './encoding.ts';

export interface TrustedKeyInput {
  /** The signer's name, distinct among signers. */
  name: string;
  publicKey?: Uint8Array;
  /** OpenPGP primary key fingerprints (40 hex, any case). */
  openpgp?: readonly string[];
}

export interface TrustPolicyInput {
  threshold: number;
  keys: readonly TrustedKeyInput[];
  /** keyids (or raw public keys as hex) and OpenPGP fingerprints whose votes no longer count. */
  revoked?: readonly string[];
  /** Keys whose envelopes are verified and stored without voting (e.g. our own when untrusted). */
  extraKnown?: readonly Uint8Array[];
}

export interface TrustPolicy {
  readonly threshold: number;
  /** keyid -> signer name, for trusted keys that are not revoked: exactly the keys that vote. */
  readonly voters: ReadonlyMap<string, string>;
  /** lowercase OpenPGP primary fingerprint -> signer name, for those not revoked. */
  readonly openpgpVoters: ReadonlyMap<string, string>;
  /** Names of the signers with at least one key not revoked: N. */
  readonly signers: ReadonlySet<string>;
  /** keyid -> display name for every key we verify (trusted, revoked, extra). */
  readonly names: ReadonlyMap<string, string>;
  /** Every key whose signature we check, by keyid. */
  readonly known: ReadonlyMap<string, KnownKey>;
}

const FINGERPRINT = /^[0-9a-fA-F]{40}$/;

/**
 * Checks and compiles a policy. A key listed twice (by the same public key under any name) is
 * one key, owned by the first signer that lists it: counting is by public key, never by entries
 * or keyid strings (DESIGN section 5). An OpenPGP fingerprint belongs to one signer only.
 * Throws BAD_KEY for a weak or malformed key and BAD_TRUST_POLICY for two signers of one name,
 * a fingerprint listed by two signers, or M outside 1..N (N: signers not wholly revoked).
 */
export function compileTrust(input: TrustPolicyInput, where = 'trust policy'): TrustPolicy {
  const names = new Map<string, string>();
  const known = new Map<string, KnownKey>();
  const add = (publicKey: Uint8Array, name: string, at: string) => {
    checkPublicKey(publicKey, at);
    const keyid = keyidOf(publicKey);
    if (!known.has(keyid)) known.set(keyid, { keyid, verify: createVerifier(publicKey) });
    if (!names.has(keyid)) names.set(keyid, name);
    return keyid;
  };
  const signerNames = new Set<string>();
  const fingerprints = new Map<string, string>();
  const trusted = new Set<string>();
  input.keys.forEach((key, i) => {
    const at = `${where}: keys[${i}] (${key.name})`;
    if (signerNames.has(key.name)) throw new ProtocolError('BAD_TRUST_POLICY', `${at}: name: expected a name no other signer has, got ${JSON.stringify(key.name)} twice`);
    signerNames.add(key.name);
    if (key.publicKey === undefined && (key.openpgp ?? []).length === 0) throw new ProtocolError('BAD_TRUST_POLICY', `${at}: expected a publicKey, openpgp fingerprints or both, got neither`);
    if (key.publicKey !== undefined) trusted.add(add(key.publicKey, key.name, at));
    key.openpgp?.forEach((value, j) => {
      const fingerprint = fingerprintOf(value, `${at}: openpgp[${j}].fingerprint`);
      const owner = fingerprints.get(fingerprint);
      if (owner !== undefined) throw new ProtocolError('BAD_TRUST_POLICY', `${at}: openpgp[${j}].fingerprint: expected a key no other signer lists, got ${value} (also listed by ${owner})`);
      fingerprints.set(fingerprint, key.name);
    });
  });
  input.extraKnown?.forEach((publicKey, i) => add(publicKey, `untrusted:${keyidOf(publicKey).slice(0, 12)}`, `${where}: extra key ${i}`));
  const revoked = new Set((input.revoked ?? []).map((r, i) => revokedKey(r, names, `${where}: revoked[${i}]`)));
  const voters = new Map([...trusted].filter((k) => !revoked.has(k)).map((k) => [k, names.get(k) ?? k]));
  const openpgpVoters = new Map([...fingerprints].filter(([f]) => !revoked.has(f)));
  const signers = new Set([...voters.values(), ...openpgpVoters.values()]);
  const { threshold } = input;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > signers.size) {
    throw new ProtocolError('BAD_TRUST_POLICY', `${where}: threshold: expected a whole number from 1 to ${signers.size} (distinct signers with a key not revoked), got ${threshold}`);
  }
  return { threshold, voters, openpgpVoters, signers, names, known };
}

/** An OpenPGP v4 fingerprint, 40 hex characters, as the lowercase hex used everywhere here. */
export function fingerprintOf(value: string, where: string): string {
  if (!FINGERPRINT.test(value)) throw new ProtocolError('BAD_TRUST_POLICY', `${where}: expected an OpenPGP fingerprint (40 hex characters), got ${JSON.stringify(value.slice(0, 80))}`);
  return value.toLowerCase();
}

/**
 * A revocation names a keyid or a public key as hex (both 64 hex characters; a known keyid
 * wins), or an OpenPGP fingerprint (40 hex characters, any case).
 */
function revokedKey(value: string, names: ReadonlyMap<string, string>, where: string): string {
  if (FINGERPRINT.test(value)) return value.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw new ProtocolError('BAD_TRUST_POLICY', `${where}: expected a keyid or public key (64 lowercase hex characters) or an OpenPGP fingerprint (40 hex), got ${JSON.stringify(value.slice(0, 80))}`);
  }
  return names.has(value) ? value : keyidOf(fromHex(value, where, 32));
}

/** A display name for a keyid under a policy: its configured name, or a short keyid. */
export function keyName(policy: TrustPolicy, keyid: string): string {
  return policy.names.get(keyid) ?? `unknown:${keyid.slice(0, 12)}`;
}
