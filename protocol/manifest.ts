/**
 * Release manifests: StageX `digests/<stage>.txt` lines `<sha256 hex> <stage>-<name>`, and the
 * manifest rule of DESIGN section 5. Pure: files are read by the caller.
 */
import { ProtocolError } from './errors.ts';
import type { Verdict } from './threshold.ts';
import { keyName, type TrustPolicy } from './trust.ts';
import type { OpenpgpVote } from './stagex-signature.ts';

export interface ManifestEntry {
  digest: string;
  image: string;
  /** file:line the entry came from, for messages. */
  where: string;
}

const LINE = /^([0-9a-f]{64})\s+((?:bootstrap|core|pallet|user)-[A-Za-z0-9][A-Za-z0-9._+-]*)$/;

/**
 * Parses one digests file. Blank lines are skipped; any other line must be a digest line, and
 * one image may appear once. Throws BAD_MANIFEST naming file and line.
 */
export function parseManifest(text: string, file: string): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  const seen = new Map<string, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `${file}:${index + 1}`;
    const match = LINE.exec(line);
    if (!match) {
      throw new ProtocolError('BAD_MANIFEST', `${where}: expected "<64 hex sha256> <stage>-<name>", got ${JSON.stringify(line.slice(0, 120))}`);
    }
    const [, digest, image] = match as unknown as [string, string, string];
    const earlier = seen.get(image);
    if (earlier) throw new ProtocolError('BAD_MANIFEST', `${where}: image ${image} listed twice (first at ${earlier})`);
    seen.set(image, where);
    entries.push({ digest, image, where });
  });
  return entries;
}

export type EntryProblem =
  | { reason: 'unknown' }
  | { reason: 'pending'; count: number; threshold: number }
  | { reason: 'conflict'; digests: string[]; evidence: DigestEvidence[] }
  | { reason: 'digest-differs'; trusted: string };

/** A signer that vouched for an entry's digest, and how (DESIGN section 5). */
export interface Voucher {
  signer: string;
  /** attestation: a counted vote trusted at the digest, or recording it as its engine digest; openpgp: a StageX signature. */
  via: ('attestation' | 'openpgp')[];
}

/** A key by the signer it belongs to (its configured name) and its keyid. */
export interface KeyRef {
  signer: string;
  keyid: string;
}

/** Who said what in a conflict: one digest and the keys whose counted votes name it. */
export interface DigestEvidence {
  digest: string;
  /** The identity the votes are for. */
  platform: string;
  inputDigest: string;
  keys: KeyRef[];
}

/** A key that signed two digests for one identity of the image: its votes there are void. */
export interface Equivocation extends KeyRef {
  platform: string;
  inputDigest: string;
  digests: string[];
}

export type EntryVerdict = ManifestEntry & { vouchers: Voucher[]; equivocating: Equivocation[] } & (
  | { holds: true; via: 'canonical'; trusted: string }
  | { holds: true; via: 'vouched' }
  | ({ holds: false } & EntryProblem));

export interface ManifestVerdict {
  trusted: boolean;
  entries: EntryVerdict[];
  /** The entries that do not hold, in manifest order. */
  failing: EntryVerdict[];
}

/** What is known about one image: the verdicts of its identities and its StageX signatures. */
export interface ImageEvidence {
  verdicts: readonly Verdict[];
  openpgp: readonly OpenpgpVote[];
}

/**
 * The manifest rule of DESIGN section 5. An entry `<hex> <image>` holds when no identity of the
 * image is in conflict and either
 * - some identity of the image is trusted at a canonical digest equal to hex, or
 * - at least M distinct signers vouched for exactly hex for that image: by recording it as the
 *   engine digest of a counted vote (not void, not equivocating, not revoked: `decide` keeps only
 *   those), or by a valid StageX OpenPGP signature by a fingerprint not revoked. Signers mix, and
 *   each counts once whichever keys it used (policy.voters and policy.openpgpVoters map keys to
 *   signers).
 * Otherwise the most serious reason is given: conflict (with the evidence: each digest and the
 * keys that voted it), then digest-differs, then pending (the
 * best k: canonical votes of one identity, or signers vouching for hex), then unknown. An empty
 * manifest is BAD_MANIFEST: there is nothing to trust. Every entry names the keys that
 * equivocated on the image (votes void), whatever its verdict.
 */
export function decideManifest(entries: readonly ManifestEntry[], evidenceOf: (image: string) => ImageEvidence, policy: TrustPolicy): ManifestVerdict {
  if (entries.length === 0) throw new ProtocolError('BAD_MANIFEST', 'release manifest: expected at least one "<sha256 hex> <image>" entry, got none');
  const decided = entries.map((entry) => decideEntry(entry, evidenceOf(entry.image), policy));
  const failing = decided.filter((e) => !e.holds);
  return { trusted: failing.length === 0, entries: decided, failing };
}

function decideEntry(entry: ManifestEntry, evidence: ImageEvidence, policy: TrustPolicy): EntryVerdict {
  const { verdicts } = evidence;
  const conflict = verdicts.find((v) => v.status === 'conflict');
  const canonical = verdicts.find((v) => v.status === 'trusted' && v.digest === entry.digest);
  const vouchers = vouchersOf(entry.digest, evidence, policy);
  const key = (keyid: string): KeyRef => ({ signer: keyName(policy, keyid), keyid });
  const equivocating = verdicts.flatMap((v) => v.equivocating.map((e) => ({ ...key(e.keyid), platform: v.identity.platform, inputDigest: v.identity.inputDigest, digests: e.digests })));
  const base = { ...entry, vouchers, equivocating };
  if (conflict) {
    const { platform, inputDigest } = conflict.identity;
    const evidence = conflict.digests.map((d) => ({ digest: d.digest, platform, inputDigest, keys: d.keyids.map(key) }));
    return { ...base, holds: false, reason: 'conflict', digests: conflict.digests.map((d) => d.digest), evidence };
  }
  if (canonical) return { ...base, holds: true, via: 'canonical', trusted: canonical.digest! };
  if (vouchers.length >= policy.threshold) return { ...base, holds: true, via: 'vouched' };
  const trusted = verdicts.find((v) => v.status === 'trusted');
  if (trusted) return { ...base, holds: false, reason: 'digest-differs', trusted: trusted.digest! };
  const count = Math.max(vouchers.length, ...verdicts.map((v) => v.count));
  if (verdicts.length > 0 || vouchers.length > 0) return { ...base, holds: false, reason: 'pending', count, threshold: policy.threshold };
  return { ...base, holds: false, reason: 'unknown' };
}

/**
 * The signers that vouched for `digest` of an image, one entry each, sorted by name: the voters
 * of an identity trusted at it, those recording it as their engine digest, and the signers of
 * StageX signatures over it.
 */
export function vouchersOf(digest: string, evidence: ImageEvidence, policy: TrustPolicy): Voucher[] {
  const ways = new Map<string, Set<Voucher['via'][number]>>();
  const add = (signer: string | undefined, via: Voucher['via'][number]) => {
    if (signer === undefined) return;
    const set = ways.get(signer);
    if (set) set.add(via);
    else ways.set(signer, new Set([via]));
  };
  for (const verdict of evidence.verdicts) {
    for (const votes of verdict.digests) {
      const keyids = verdict.status === 'trusted' && votes.digest === digest ? votes.keyids : (votes.engineDigests[digest] ?? []);
      for (const keyid of keyids) add(policy.voters.get(keyid), 'attestation');
    }
  }
  for (const vote of evidence.openpgp) if (vote.digest === digest) add(policy.openpgpVoters.get(vote.fingerprint), 'openpgp');
  return [...ways].sort(([a], [b]) => (a < b ? -1 : 1)).map(([signer, via]) => ({ signer, via: [...via].sort() }));
}

/**
 * The StageX digests the network agreed on through attestations alone: per image with no
 * identity in conflict, each engine digest recorded by at least M distinct signers' counted
 * votes. What a reproducer may sign as StageX signs (`signatures sign`).
 */
export function agreedEngineDigests(verdicts: readonly Verdict[], policy: TrustPolicy): { image: string; digest: string; signers: string[] }[] {
  const byImage = new Map<string, Verdict[]>();
  for (const verdict of verdicts) byImage.set(verdict.identity.image, [...(byImage.get(verdict.identity.image) ?? []), verdict]);
  const agreed: { image: string; digest: string; signers: string[] }[] = [];
  for (const [image, list] of [...byImage].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (list.some((v) => v.status === 'conflict')) continue;
    const engines = new Set(list.flatMap((v) => v.digests.flatMap((d) => Object.keys(d.engineDigests))));
    for (const digest of [...engines].sort()) {
      const vouchers = vouchersOf(digest, { verdicts: list, openpgp: [] }, policy);
      if (vouchers.length >= policy.threshold) agreed.push({ image, digest, signers: vouchers.map((v) => v.signer) });
    }
  }
  return agreed;
}
