/** Shared test fixtures: deterministic keys, policies and signed attestations. */
import { createHash } from 'node:crypto';
import { encodeEnvelope, envelopeOf, preAuthEncoding, type Envelope, type KnownKey } from '../../protocol/dsse.ts';
import { createSeedSigner, type SeedSigner, type Signer } from '../../protocol/keys.ts';
import { buildStatement, PAYLOAD_TYPE, type BuildFacts } from '../../protocol/statement.ts';
import { compileTrust, type TrustPolicy } from '../../protocol/trust.ts';

/** A deterministic signer per index, so failures reproduce. */
export function signer(index: number): SeedSigner {
  return createSeedSigner(new Uint8Array(createHash('sha256').update(`test key ${index}`).digest()));
}

export function signers(count: number): SeedSigner[] {
  return Array.from({ length: count }, (_, i) => signer(i));
}

export function hex64(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

export function policyOf(threshold: number, keys: readonly Signer[], options: { revoked?: string[]; extraKnown?: Signer[] } = {}): TrustPolicy {
  return compileTrust({
    threshold,
    keys: keys.map((k, i) => ({ name: `k${i}`, publicKey: k.publicKey })),
    ...(options.revoked ? { revoked: options.revoked } : {}),
    ...(options.extraKnown ? { extraKnown: options.extraKnown.map((k) => k.publicKey) } : {}),
  });
}

export function facts(overrides: Partial<BuildFacts> = {}): BuildFacts {
  return {
    image: 'core-busybox',
    package: 'core-busybox',
    version: '1.36.1',
    platform: 'linux/amd64',
    target: 'package',
    inputDigest: hex64('input core-busybox'),
    digest: hex64('output core-busybox'),
    sources: [{ uri: 'https://example.org/busybox-1.36.1.tar.bz2', sha256: hex64('source') }],
    dependencies: [],
    builderId: 'stagex-node:test',
    startedOn: '2026-11-25T00:00:00.000Z',
    finishedOn: '2026-11-25T00:01:00.000Z',
    ...overrides,
  };
}

/** An envelope signed at once by in-memory keys (signEnvelope is the asynchronous path every signer takes). */
export function envelopeNow(payloadType: string, payload: Uint8Array, by: readonly SeedSigner[]): Envelope {
  const pae = preAuthEncoding(payloadType, payload);
  return envelopeOf(payloadType, payload, by.map((s) => ({ keyid: s.keyid, sig: s.signNow(pae) })));
}

/** Envelope bytes of a statement signed by `by`. */
export function envelopeBytes(by: SeedSigner | readonly SeedSigner[], overrides: Partial<BuildFacts> = {}): Uint8Array {
  const payload = new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts(overrides)))));
  return encodeEnvelope(envelopeNow(PAYLOAD_TYPE, payload, Array.isArray(by) ? by : [by as SeedSigner]));
}

/**
 * `count` distinct envelopes, the benches' load: envelope i is build `core-pkg<i>`, signed by
 * `keys[i % keys.length]` alone; `from` starts the numbering elsewhere (envelopes not yet made).
 */
export function numberedEnvelopes(keys: readonly SeedSigner[], count: number, from = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    return envelopeBytes(keys[i % keys.length]!, { image: `core-pkg${i}`, inputDigest: hex64(`in ${i}`), digest: hex64(`out ${i}`) });
  });
}

/** The same keys, each verification counted: to show what a refusal cost. */
export function countingKeys(known: ReadonlyMap<string, KnownKey>): { keys: Map<string, KnownKey>; calls: () => number } {
  let n = 0;
  const keys = new Map([...known].map(([keyid, key]) => [keyid, { keyid, verify: (m: Uint8Array, s: Uint8Array) => (n += 1, key.verify(m, s)) }]));
  return { keys, calls: () => n };
}

/** A policy whose verifications are counted. */
export function countingPolicy(policy: TrustPolicy): { policy: TrustPolicy; calls: () => number } {
  const { keys, calls } = countingKeys(policy.known);
  return { policy: { ...policy, known: keys }, calls };
}

/** Envelope bytes as JSON with `change` applied: what a sender can alter without a key. */
export function reshaped(bytes: Uint8Array, change: (envelope: Envelope & Record<string, unknown>) => unknown): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(change(JSON.parse(Buffer.from(bytes).toString()) as Envelope & Record<string, unknown>))));
}
