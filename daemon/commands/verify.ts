/**
 * `stagex-node verify`: is this image digest, or this release manifest, trustworthy, and who
 * says so? Exit 0 trusted, 1 pending or unknown, 2 conflict (DESIGN section 8).
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EXIT, type CommandEnv } from './env.ts';
import { loadContext, type NodeContext } from '../context.ts';
import { ask } from '../client.ts';
import { answerVerify, type VerifyAnswer } from '../answers.ts';
import type { ManifestEntry, ManifestVerdict, EntryVerdict } from '../../protocol/manifest.ts';
import { readManifest } from '../manifest-files.ts';
import { configPath, digestArg, imageArg } from './args.ts';
import { conflictEvidence, equivocation, short, table } from '../format.ts';
import { DaemonError } from '../errors.ts';

const REF = /^([^@\s]+)@(?:sha256:)?([^@\s]+)$/;

/** `image@sha256:hex` as one manifest entry, or the entries of a digests file or directory. */
export async function entriesOf(target: string): Promise<ManifestEntry[]> {
  const ref = REF.exec(target);
  if (ref && !(await stat(target).catch(() => undefined))) {
    return [{ image: imageArg(ref[1]!, 'verify <ref>'), digest: digestArg(ref[2]!, 'verify <ref>'), where: 'command line' }];
  }
  if (!(await stat(target).catch(() => undefined))) {
    throw new DaemonError('USAGE', `verify: expected <stage-name>@sha256:<hex> or a digests file or directory, got ${JSON.stringify(target)}`);
  }
  return readManifest(target);
}

/**
 * The entry for an image in the local engine: its canonical digest, computed here. The engine
 * client (dockerode, with ssh2 and grpc: ~0.2 s to load) is loaded only for --image: verifying a
 * manifest, what a user runs before `docker pull`, never needs it.
 */
async function engineEntry(socketPath: string, ref: string, as: string | undefined): Promise<ManifestEntry> {
  const [{ connectEngine }, { canonicalDigestOf, imageNameOfRef }] = await Promise.all([import('../builder/engine.ts'), import('../builder/image-digest.ts')]);
  const image = imageArg(as ?? imageNameOfRef(ref), as === undefined ? `--image ${ref} (name it with --as <stage-name>)` : '--as');
  const digest = await canonicalDigestOf(connectEngine({ socketPath }), ref);
  return { image, digest, where: `engine image ${ref}` };
}

export function exitCodeOf(verdict: ManifestVerdict): number {
  if (verdict.failing.some((e) => !e.holds && e.reason === 'conflict')) return EXIT.conflict;
  return verdict.trusted ? EXIT.ok : EXIT.pending;
}

function why(entry: EntryVerdict): string {
  if (entry.holds) return `trusted (${entry.via === 'vouched' ? `vouched for by ${entry.vouchers.length} signers` : 'canonical digest'})`;
  switch (entry.reason) {
    case 'unknown': return 'unknown: no attestation or StageX signature for this image';
    case 'pending': return `pending: ${entry.count} of ${entry.threshold} signers`;
    case 'conflict': return `CONFLICT: signers disagree (${conflictEvidence(entry.evidence)})`;
    case 'digest-differs': return `digest differs: trusted digest is ${entry.trusted}`;
  }
}

/** What the verdict column adds to any entry: the keys that equivocated, their votes void. */
function withEquivocation(entry: EntryVerdict): string {
  return entry.equivocating.length ? `${why(entry)}; ${equivocation(entry.equivocating)}` : why(entry);
}

/** `alice (attestation), dave (openpgp)`: who vouched for the entry's digest, and how. */
function vouchedBy(entry: EntryVerdict): string {
  return entry.vouchers.map((v) => `${v.signer} (${v.via.join('+')})`).join(', ') || '-';
}

/** Signs a SLSA Verification Summary of `verdict` with this node's key and writes it to `file` (its modules loaded only for --vsa). */
async function writeVsa(context: NodeContext, verdict: VerifyAnswer, resourceUri: string, file: string): Promise<string> {
  const [{ signAttestation }, { onlineSigner }, { vsaStatement }] = await Promise.all([import('../attest.ts'), import('../signer/load.ts'), import('../../protocol/vsa.ts')]);
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const statement = vsaStatement(verdict, verdict.counted, {
    verifierId: `stagex-node:${context.config.name}`,
    version,
    timeVerified: new Date().toISOString(),
    resourceUri,
    policyDigest: createHash('sha256').update(JSON.stringify(context.config.trust)).digest('hex'),
    threshold: context.policy.threshold,
    signers: context.policy.signers.size,
  });
  const bytes = await signAttestation(onlineSigner(context.signer, 'verify --vsa'), new Uint8Array(Buffer.from(JSON.stringify(statement))));
  await writeFile(file, bytes);
  return file;
}

export function registerVerify(program: Command, env: CommandEnv): void {
  program
    .command('verify')
    .description('decide an image digest (<stage-name>@sha256:<hex>) or a release manifest (digests file or directory)')
    .argument('[target]', 'image reference, digests file, or directory of digests/*.txt')
    .option('--image <ref>', 'an image in the local engine (e.g. one just pulled): compute its canonical digest and decide it')
    .option('--as <stage-name>', 'with --image: the StageX image it claims to be (default: from the reference, stagex/<stage-name>)')
    .option('--json', 'print JSON')
    .option('--all', 'list every entry, not only those that do not hold')
    .option('--vsa <file>', 'also write a SLSA Verification Summary Attestation of the verdict, signed with this node\'s key (DSSE), listing every envelope and StageX signature counted')
    .action(async (target: string | undefined, options: { image?: string; as?: string; json?: boolean; all?: boolean; vsa?: string }, command: Command) => {
      if ((target === undefined) === (options.image === undefined)) throw new DaemonError('USAGE', 'verify: give either a <target> or --image <ref>');
      const context = await loadContext(configPath(command));
      const entries = options.image === undefined ? await entriesOf(target!) : [await engineEntry(context.config.builder.socket, options.image, options.as)];
      const verdict = await ask(context, 'POST', '/verify', JSON.stringify({ entries }), (store) => answerVerify(store, context.policy, entries));
      env.setExit(exitCodeOf(verdict));
      const vsa = options.vsa === undefined ? undefined : await writeVsa(context, verdict, target ?? options.image!, options.vsa);
      if (options.json) {
        env.io.out(JSON.stringify(vsa ? { ...verdict, vsa } : verdict));
        return;
      }
      const shown = options.all || entries.length === 1 ? verdict.entries : verdict.failing;
      if (shown.length) env.io.out(table(['IMAGE', 'DIGEST', 'VERDICT', 'VOUCHED BY', 'WHERE'], shown.map((e) => [e.image, short(e.digest), withEquivocation(e), vouchedBy(e), e.where])));
      const held = verdict.entries.length - verdict.failing.length;
      env.io.out(`${verdict.trusted ? 'TRUSTED' : exitCodeOf(verdict) === EXIT.conflict ? 'CONFLICT' : 'NOT TRUSTED'}: ${held} of ${verdict.entries.length} entries hold (threshold ${context.policy.threshold} of ${context.policy.signers.size} signers)`);
      if (vsa) env.io.out(`verification summary (SLSA VSA, signed) -> ${vsa}`);
    });
}
