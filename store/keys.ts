/**
 * Key layout of the attestation store (DESIGN section 7). Fields are joined with a space: no
 * image name, platform, hex digest or keyid holds one, and ' ' sorts before every character
 * they use, so a prefix `<a> ` range-reads exactly the entries whose first field is `<a>`.
 *
 *   env   <envelope hash>                                              -> envelope bytes
 *   vote  <image> <platform> <input digest> <keyid> <envelope hash>    -> <digest>[ <engine digest>]
 *   key   <keyid> <envelope hash>                                      -> the vote's key
 *   dig   <digest or engine digest> <envelope hash> <keyid>            -> the vote's key
 */
import type { Vote } from '../protocol/attestation.ts';

export const SEP = ' ';

export function voteKey(vote: Vote): string {
  return [vote.image, vote.platform, vote.inputDigest, vote.keyid, vote.envelope].join(SEP);
}

export function voteValue(vote: Vote): string {
  return vote.engineDigest ? `${vote.digest}${SEP}${vote.engineDigest}` : vote.digest;
}

const VOTE_KEY = /^[^ ]+ [^ ]+ [0-9a-f]{64} [0-9a-f]{64} [0-9a-f]{64}$/;
const VOTE_VALUE = /^[0-9a-f]{64}( [0-9a-f]{64})?$/;

/** Reads a vote entry back; a string describing what is wrong when it is not one of ours. */
export function parseVoteEntry(key: string, value: string): Vote | string {
  if (!VOTE_KEY.test(key)) return 'expected key "<image> <platform> <input digest> <keyid> <envelope hash>"';
  if (!VOTE_VALUE.test(value)) return 'expected value "<digest>[ <engine digest>]"';
  const [image, platform, inputDigest, keyid, envelope] = key.split(SEP) as [string, string, string, string, string];
  const digest = value.slice(0, 64);
  const engineDigest = value.length > 64 ? value.slice(65) : undefined;
  return engineDigest
    ? { image, platform, inputDigest, keyid, envelope, digest, engineDigest }
    : { image, platform, inputDigest, keyid, envelope, digest };
}

/** Range options selecting keys that start with `prefix` followed by SEP (or all, without one). */
export function prefixRange(...fields: string[]): { gte?: string; lt?: string } {
  if (fields.length === 0) return {};
  const prefix = fields.join(SEP) + SEP;
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(SEP.charCodeAt(0) + 1) };
}
