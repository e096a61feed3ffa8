/**
 * Release manifests: StageX `digests/<stage>.txt` lines `<sha256 hex> <stage>-<name>`, and the
 * manifest verdict of DESIGN section 5. Pure: files are read by the caller.
 */
import { ProtocolError } from './errors.ts';
import type { Verdict } from './threshold.ts';

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
  | { reason: 'conflict'; digests: string[] }
  | { reason: 'digest-differs'; trusted: string };

export type EntryVerdict = ManifestEntry & ({ holds: true; via: 'canonical' | 'engine'; trusted: string } | ({ holds: false } & EntryProblem));

export interface ManifestVerdict {
  trusted: boolean;
  entries: EntryVerdict[];
  /** The entries that do not hold, in manifest order. */
  failing: EntryVerdict[];
}

/**
 * An entry holds when some identity of its image is trusted at D and the entry's digest is D,
 * or is the engine digest recorded by at least M of the keys that voted D. Otherwise the most
 * serious reason is given: conflict, then digest-differs, then pending (best k), then unknown.
 */
export function decideManifest(entries: readonly ManifestEntry[], verdictsOf: (image: string) => readonly Verdict[]): ManifestVerdict {
  const decided = entries.map((entry) => decideEntry(entry, verdictsOf(entry.image)));
  const failing = decided.filter((e) => !e.holds);
  return { trusted: failing.length === 0, entries: decided, failing };
}

function decideEntry(entry: ManifestEntry, verdicts: readonly Verdict[]): EntryVerdict {
  for (const verdict of verdicts) {
    if (verdict.status !== 'trusted') continue;
    const trusted = verdict.digest!;
    if (trusted === entry.digest) return { ...entry, holds: true, via: 'canonical', trusted };
    const voters = verdict.digests[0]!.engineDigests[entry.digest]?.length ?? 0;
    if (voters >= verdict.threshold) return { ...entry, holds: true, via: 'engine', trusted };
  }
  const conflict = verdicts.find((v) => v.status === 'conflict');
  if (conflict) return { ...entry, holds: false, reason: 'conflict', digests: conflict.digests.map((d) => d.digest) };
  const trusted = verdicts.find((v) => v.status === 'trusted');
  if (trusted) return { ...entry, holds: false, reason: 'digest-differs', trusted: trusted.digest! };
  const pending = verdicts.reduce<Verdict | undefined>((best, v) => (!best || v.count > best.count ? v : best), undefined);
  if (pending) return { ...entry, holds: false, reason: 'pending', count: pending.count, threshold: pending.threshold };
  return { ...entry, holds: false, reason: 'unknown' };
}
