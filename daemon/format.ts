/** Human output for the CLI: aligned tables and short digests. JSON output bypasses this. */
import type { DigestEvidence, Equivocation } from '../protocol/manifest.ts';
import type { Verdict } from '../protocol/threshold.ts';
import { keyName, type TrustPolicy } from '../protocol/trust.ts';

/** Left-aligned columns separated by two spaces; the header row first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function short(hex: string | undefined): string {
  return hex ? hex.slice(0, 12) : '-';
}

/** One row per verdict: who said what, with names from the config. */
export function verdictTable(verdicts: readonly Verdict[], policy: TrustPolicy): string {
  const names = (keyids: readonly string[]) => keyids.map((k) => keyName(policy, k)).sort().join(', ');
  const rows = verdicts.map((v) => [
    v.identity.image,
    v.identity.platform,
    short(v.identity.inputDigest),
    v.status === 'conflict' ? 'CONFLICT' : `${v.status} ${v.count}/${v.threshold}`,
    v.digests.map((d) => `${short(d.digest)} by ${names(d.keyids)}`).join('; ') || '-',
    v.equivocating.length ? `EQUIVOCATING: ${names(v.equivocating.map((e) => e.keyid))}` : '',
  ]);
  return table(['IMAGE', 'PLATFORM', 'INPUT', 'STATUS', 'DIGESTS (SIGNERS)', ''], rows);
}

/** Who said what in a conflict: `1a2b3c4d5e6f by alice, bob vs 9f8e7d6c5b4a by mallory`. */
export function conflictEvidence(evidence: readonly DigestEvidence[]): string {
  return evidence.map((d) => `${short(d.digest)} by ${d.keys.map((k) => k.signer).sort().join(', ')}`).join(' vs ');
}

/** `EQUIVOCATING (votes void): mallory signed 1a2b3c4d5e6f and 9f8e7d6c5b4a`. */
export function equivocation(keys: readonly Equivocation[]): string {
  return `EQUIVOCATING (votes void): ${keys.map((e) => `${e.signer} signed ${e.digests.map(short).join(' and ')}`).join('; ')}`;
}
