/**
 * What this reproducer builds (issue 5, assignment): either globs over image names, or `auto`:
 * rendezvous hashing over (trusted keyid, input digest), so every reproducer computes the same R
 * builders for every image from the tree and the trust policy alone, with no coordination, and
 * an image whose inputs change gets a fresh draw. Pure.
 */
import { sha256Hex } from './encoding.ts';

export type Assign = 'auto' | readonly string[];

export interface AssignInput {
  assign: Assign;
  /** Keyids of the trusted, unrevoked signers, in any order. */
  voters: readonly string[];
  /** This reproducer's keyid. */
  self: string;
  /** R: builders per image under `auto`. */
  replicas: number;
}

/** Whether `image` (with this input digest) is this reproducer's to build. */
export function isAssigned(input: AssignInput, image: string, inputDigest: string): boolean {
  if (input.assign === 'auto') return rendezvous(input.voters, inputDigest, input.replicas).includes(input.self);
  return input.assign.some((glob) => globMatches(glob, image));
}

/**
 * The `replicas` keys with the highest sha256(key ":" inputDigest), highest first: the same
 * answer on every machine; adding or removing one key moves only the images it wins or loses.
 */
export function rendezvous(keys: readonly string[], inputDigest: string, replicas: number): string[] {
  const scored = [...new Set(keys)].map((key) => ({ key, score: sha256Hex(`${key}:${inputDigest}`) }));
  scored.sort((a, b) => (a.score < b.score ? 1 : a.score > b.score ? -1 : 0));
  return scored.slice(0, replicas).map((s) => s.key);
}

/** `*` any run of characters, `?` one character; everything else literal. */
export function globMatches(glob: string, name: string): boolean {
  const pattern = glob.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${pattern}$`).test(name);
}
