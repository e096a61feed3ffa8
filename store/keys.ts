/**
 * Key layout of the attestation store (DESIGN section 7). Fields are joined with a space: no
 * image name, platform, hex digest or keyid holds one, and ' ' sorts before every character
 * they use, so a prefix `<a> ` range-reads exactly the entries whose first field is `<a>`.
 *
 *   env    <envelope hash>                          -> envelope bytes
 *   tally  identityKey: <image> <platform> <input>  -> vote lines, one per distinct
 *                                                      (keyid, digest, engine digest):
 *                                                      `<keyid> <digest> <envelope>[ <engine>]`
 *   key    <keyid> <envelope hash>                  -> `<image> <platform> <input> <digest>[ <engine>]`
 *   pgp    <image> <digest> <fingerprint> <file sha256> -> signature creation time (ISO 8601):
 *                                                      a StageX OpenPGP signature (DESIGN section 4)
 *
 * The tally holds all votes of an identity in one value, so a manifest verdict reads one entry
 * per identity instead of one per vote (bench/verdict.ts).
 */
import { identityKey, type Vote } from '../protocol/attestation.ts';
import type { OpenpgpVote } from '../protocol/stagex-signature.ts';

export const SEP = ' ';
const LINE = '\n';

export function tallyLine(vote: Vote): string {
  const fields = [vote.keyid, vote.digest, vote.envelope];
  if (vote.engineDigest) fields.push(vote.engineDigest);
  return fields.join(SEP);
}

/** The part of a tally line that decides whether another vote adds anything. */
export function tallyLineIdentity(line: string): string {
  const fields = line.split(SEP);
  return `${fields[0]} ${fields[1]} ${fields[3] ?? ''}`;
}

export function appendTally(existing: string | undefined, lines: Iterable<string>): string | undefined {
  const present = new Set(existing ? existing.split(LINE).map(tallyLineIdentity) : []);
  const added: string[] = [];
  for (const line of lines) {
    const id = tallyLineIdentity(line);
    if (present.has(id)) continue;
    present.add(id);
    added.push(line);
  }
  if (added.length === 0) return undefined;
  return existing ? existing + LINE + added.join(LINE) : added.join(LINE);
}

/** Value of the key index: the vote without keyid and envelope. */
export function indexValue(vote: Vote): string {
  const fields = [identityKey(vote), vote.digest];
  if (vote.engineDigest) fields.push(vote.engineDigest);
  return fields.join(SEP);
}

const IDENTITY = /^[^ ]+ [^ ]+ [0-9a-f]{64}$/;
const INDEX_VALUE = /^[^ ]+ [^ ]+ [0-9a-f]{64} [0-9a-f]{64}( [0-9a-f]{64})?$/;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Reads a tally back into votes. Lines that are not ours are returned as problems, so a
 * corrupt or foreign value is reported, never thrown through.
 */
export function parseTally(key: string, value: string, votes: Vote[], problems: string[]): void {
  if (!IDENTITY.test(key)) {
    problems.push('expected key "<image> <platform> <input digest>"');
    return;
  }
  const [image, platform, inputDigest] = key.split(SEP) as [string, string, string];
  for (const line of value.split(LINE)) {
    if (!isTallyLine(line)) {
      problems.push(`expected vote line "<keyid> <digest> <envelope>[ <engine digest>]", got ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const keyid = line.slice(0, 64);
    const digest = line.slice(65, 129);
    const envelope = line.slice(130, 194);
    votes.push(line.length > 194
      ? { image, platform, inputDigest, keyid, digest, envelope, engineDigest: line.slice(195) }
      : { image, platform, inputDigest, keyid, digest, envelope });
  }
}

/**
 * A structural check of a tally line: field lengths and separators. Cheaper than a regex over
 * every hex character on the hot path of manifest verdicts; a foreign or truncated value fails.
 */
function isTallyLine(line: string): boolean {
  return (line.length === 194 || (line.length === 259 && line[194] === SEP)) && line[64] === SEP && line[129] === SEP && !line.includes(SEP, 195);
}

/** Reads a key index entry back into a vote, or says what is wrong. */
export function parseIndexEntry(keyid: string, envelope: string, value: string): Vote | string {
  if (!HEX64.test(keyid) || !HEX64.test(envelope) || !INDEX_VALUE.test(value)) {
    return 'expected "<image> <platform> <input digest> <digest>[ <engine digest>]" for a keyid and envelope hash';
  }
  const [image, platform, inputDigest, digest, engineDigest] = value.split(SEP) as [string, string, string, string, string | undefined];
  return engineDigest
    ? { image, platform, inputDigest, keyid, envelope, digest, engineDigest }
    : { image, platform, inputDigest, keyid, envelope, digest };
}

/** Range options selecting keys that start with the fields followed by SEP (all, without any). */
export function prefixRange(...fields: string[]): { gte?: string; lt?: string } {
  if (fields.length === 0) return {};
  const prefix = fields.join(SEP) + SEP;
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(SEP.charCodeAt(0) + 1) };
}

/** Key of a StageX OpenPGP signature vote: the image first, so an image's votes are one range. */
export function openpgpKey(vote: OpenpgpVote): string {
  return [vote.image, vote.digest, vote.fingerprint, vote.file].join(SEP);
}

const OPENPGP_KEY = /^[^ ]+ [0-9a-f]{64} [0-9a-f]{40} [0-9a-f]{64}$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Reads an OpenPGP vote entry back, or says what is wrong. */
export function parseOpenpgpEntry(key: string, value: string): OpenpgpVote | string {
  if (!OPENPGP_KEY.test(key) || !TIME.test(value)) return 'expected "<image> <digest> <fingerprint> <file sha256>" -> ISO time';
  const [image, digest, fingerprint, file] = key.split(SEP) as [string, string, string, string];
  return { image, digest, fingerprint, file, created: value };
}
