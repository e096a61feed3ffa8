/**
 * Bootstrap gating (DESIGN section 1): the chain stage0 -> stage3 is what every other package is
 * built FROM, so nothing is built above a bootstrap stage whose output is not the expected one.
 * A pins file gives, per bootstrap image, the sha256 of its seed files (the 181-byte hex0-seed)
 * and the expected output digest, or "quorum": the digest the trusted keys agree on. A bootstrap
 * image without a pin is gated by quorum. Pure: the caller reads the file and the store.
 */
import { z } from 'zod';
import type { Package } from './tree/graph.ts';
import type { Verdict } from './threshold.ts';
import { describeIssues, ProtocolError } from './errors.ts';
import { withoutComments } from './encoding.ts';
import { imageNameSchema, sha256HexSchema } from './statement.ts';

export const QUORUM = 'quorum';

const pinSchema = z.strictObject({
  /** File name (in the package directory, or a source's file name) -> sha256 hex. */
  seeds: z.record(z.string().min(1), sha256HexSchema).default({}),
  /** The expected canonical output digest (hex), or "quorum". */
  digest: z.union([z.literal(QUORUM), sha256HexSchema]).default(QUORUM),
});

export const pinsSchema = z.strictObject({
  stages: z.record(imageNameSchema, pinSchema),
});

export type Pin = z.output<typeof pinSchema>;
export type Pins = ReadonlyMap<string, Pin>;

/** Parses a pins document ("//" keys are comments); BAD_PINS names every problem with its path. */
export function parsePins(json: unknown, where: string): Pins {
  const parsed = pinsSchema.safeParse(withoutComments(json));
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues, json);
    throw new ProtocolError('BAD_PINS', `${where}: ${problems.length} problem(s):\n${problems.join('\n')}`);
  }
  return new Map(Object.entries(parsed.data.stages));
}

/** A bootstrap image's pin: its own, else quorum with no seeds. */
export function pinFor(pins: Pins, image: string): Pin {
  return pins.get(image) ?? { seeds: {}, digest: QUORUM };
}

/**
 * Checks a bootstrap package's seeds against the pin, before anything is built: each pinned seed
 * must be a file of the package directory or the file of one of its sources, with that sha256.
 * Returns one message per problem (empty when all hold).
 */
export function checkSeeds(pkg: Pick<Package, 'id' | 'files' | 'sources'>, pin: Pin): string[] {
  return Object.entries(pin.seeds).flatMap(([file, expected]) => {
    const got = pkg.files[file] ?? pkg.sources.find((s) => s.file === file)?.hash;
    if (got === undefined) return [`${pkg.id}: expected the pinned seed ${file} in the package or its sources, got none`];
    return got === expected ? [] : [`${pkg.id}: seed ${file} has sha256 ${got}, expected the pinned ${expected}`];
  });
}

export type Gate =
  | { status: 'pass' }
  /** Its dependants must not be built; `reason` says why. */
  | { status: 'mismatch'; reason: string }
  /** Quorum not reached yet: its dependants wait. */
  | { status: 'pending'; reason: string };

/**
 * Decides whether images above a bootstrap stage may be built, given the digest built here and
 * (for a quorum pin) the store's verdict on the stage's identity.
 */
export function gate(image: string, pin: Pin, digest: string, verdict: Verdict | undefined): Gate {
  if (pin.digest !== QUORUM) {
    return pin.digest === digest ? { status: 'pass' } : { status: 'mismatch', reason: `${image}: built ${digest}, expected the pinned ${pin.digest}` };
  }
  if (verdict?.status === 'trusted') {
    return verdict.digest === digest ? { status: 'pass' } : { status: 'mismatch', reason: `${image}: built ${digest}, but the trusted keys agree on ${verdict.digest}` };
  }
  if (verdict?.status === 'conflict') {
    return { status: 'mismatch', reason: `${image}: trusted keys disagree (${verdict.digests.map((d) => `${d.digest} by ${d.keyids.length}`).join(', ')}); no quorum` };
  }
  return { status: 'pending', reason: `${image}: waiting for quorum on ${digest} (${verdict?.count ?? 0} of ${verdict?.threshold ?? 'M'} trusted keys)` };
}
