/** Shared test fixtures: deterministic keys, policies and signed attestations. */
import { createHash } from 'node:crypto';
import { encodeEnvelope, signEnvelope } from '../../protocol/dsse.ts';
import { createSeedSigner, type Signer } from '../../protocol/keys.ts';
import { buildStatement, PAYLOAD_TYPE, type BuildFacts } from '../../protocol/statement.ts';
import { compileTrust, type TrustPolicy } from '../../protocol/trust.ts';

/** A deterministic signer per index, so failures reproduce. */
export function signer(index: number): Signer {
  return createSeedSigner(new Uint8Array(createHash('sha256').update(`test key ${index}`).digest()));
}

export function signers(count: number): Signer[] {
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

/** Envelope bytes of a statement signed by `by`. */
export function envelopeBytes(by: Signer | readonly Signer[], overrides: Partial<BuildFacts> = {}): Uint8Array {
  const payload = new Uint8Array(Buffer.from(JSON.stringify(buildStatement(facts(overrides)))));
  return encodeEnvelope(signEnvelope(PAYLOAD_TYPE, payload, Array.isArray(by) ? by : [by as Signer]));
}
