/**
 * The trust policy: the N trusted keys, the threshold M and revocations (DESIGN section 5),
 * compiled once into the lookups that verification and verdicts use.
 */
import { checkPublicKey, createVerifier } from './ed25519.ts';
import { ProtocolError } from './errors.ts';
import type { KnownKey } from './dsse.ts';
import { keyidOf } from './keys.ts';
import { fromHex } from './encoding.ts';

export interface TrustedKeyInput {
  name: string;
  publicKey: Uint8Array;
}

export interface TrustPolicyInput {
  threshold: number;
  keys: readonly TrustedKeyInput[];
  /** keyids (or raw public keys as hex) whose votes no longer count. */
  revoked?: readonly string[];
  /** Keys whose envelopes are verified and stored without voting (e.g. our own when untrusted). */
  extraKnown?: readonly Uint8Array[];
}

export interface TrustPolicy {
  readonly threshold: number;
  /** keyid -> name, for trusted keys that are not revoked: exactly the keys that vote. */
  readonly voters: ReadonlyMap<string, string>;
  /** keyid -> display name for every key we verify (trusted, revoked, extra). */
  readonly names: ReadonlyMap<string, string>;
  /** Every key whose signature we check, by keyid. */
  readonly known: ReadonlyMap<string, KnownKey>;
}

/**
 * Checks and compiles a policy. A key listed twice (by the same public key under any name) is
 * one key: counting is by public key, never by entries or keyid strings (DESIGN section 5).
 * Throws BAD_KEY for a weak or malformed key and BAD_TRUST_POLICY when M is outside 1..N.
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
  const trusted = new Set(input.keys.map((key, i) => add(key.publicKey, key.name, `${where}: keys[${i}] (${key.name})`)));
  input.extraKnown?.forEach((publicKey, i) => add(publicKey, `untrusted:${keyidOf(publicKey).slice(0, 12)}`, `${where}: extra key ${i}`));
  const revoked = new Set((input.revoked ?? []).map((r, i) => revokedKeyid(r, names, `${where}: revoked[${i}]`)));
  const voters = new Map([...trusted].filter((k) => !revoked.has(k)).map((k) => [k, names.get(k) ?? k]));
  const { threshold } = input;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > voters.size) {
    throw new ProtocolError('BAD_TRUST_POLICY', `${where}: threshold: expected a whole number from 1 to ${voters.size} (distinct trusted keys not revoked), got ${threshold}`);
  }
  return { threshold, voters, names, known };
}

/** A revocation names a keyid, or a public key as hex (both 64 hex characters); a known keyid wins. */
function revokedKeyid(value: string, names: ReadonlyMap<string, string>, where: string): string {
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw new ProtocolError('BAD_TRUST_POLICY', `${where}: expected a keyid or public key (64 lowercase hex characters), got ${JSON.stringify(value.slice(0, 80))}`);
  }
  return names.has(value) ? value : keyidOf(fromHex(value, where, 32));
}

/** A display name for a keyid under a policy: its configured name, or a short keyid. */
export function keyName(policy: TrustPolicy, keyid: string): string {
  return policy.names.get(keyid) ?? `unknown:${keyid.slice(0, 12)}`;
}
