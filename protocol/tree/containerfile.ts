/**
 * What the tree needs from a Containerfile (DESIGN section 1): the StageX images it names, which
 * are its build dependencies, and its stage names, which give build targets. Read as BuildKit
 * reads instructions, so that text inside a heredoc body or a comment is never taken for one:
 * keywords in any case after optional indentation, `\` line continuations, `<<EOF` / `<<-EOF`
 * bodies skipped. StageX 2025.10.0 uses only `FROM stagex/<image>[ AS <stage>]`,
 * `FROM --platform=linux/386 stagex/<image> AS build` and `COPY --from=stagex/<image> <src> <dst>`,
 * column 0, no tags; a `# FROM stagex/...` comment (user/zeromq) is not a dependency.
 */

export interface ContainerfileInfo {
  /** Images named as `stagex/<image>` by FROM or COPY --from, tag or digest dropped; sorted, unique. */
  dependencies: string[];
  /** The 1-based line that first names each dependency, for messages. */
  lines: Record<string, number>;
  /** Stage names in order, lowercased as BuildKit matches targets; '' for a stage without `AS`. */
  stages: string[];
  /**
   * What FROM or COPY --from names that is neither `stagex/<image>`, `scratch` nor an earlier stage
   * (a named build context such as `fetch`, another registry's image, a `$VAR`): an engine would
   * try to pull it, so such a package cannot be built offline.
   */
  external: { ref: string; line: number }[];
  /**
   * The RUN, ADD and WORKDIR instructions of each stage, by stage index: in a package stage they
   * make content that engines disagree on (DESIGN section 3), so the builder warns about them.
   */
  engineDependent: { stage: number; keyword: string; line: number }[];
}

const STAGEX_REF = /^stagex\/([^:@\s]+)(?::[^@\s]*)?(?:@\S+)?$/;
/** `<<EOF`, `<<-EOF`, `<<"EOF"`; not a shell here-string `<<<`. */
const HEREDOC = /(?<!<)<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
/** Instructions whose result differs between BuildKit and Buildah when a package stage runs them (DESIGN section 3). */
const ENGINE_DEPENDENT = new Set(['RUN', 'ADD', 'WORKDIR']);
/** The instructions BuildKit reads heredocs for. */
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

export function parseContainerfile(text: string): ContainerfileInfo {
  const lines = text.split(/\r?\n/);
  const named = new Map<string, number>();
  const stages: string[] = [];
  /** The same names, for lookups in files with many stages. */
  const stageNames = new Set<string>();
  const external: { ref: string; line: number }[] = [];
  const engineDependent: { stage: number; keyword: string; line: number }[] = [];
  const outside = (ref: string | undefined, line: number): void => {
    if (ref === undefined || imageOf(ref) !== undefined || ref.toLowerCase() === 'scratch' || stageNames.has(ref.toLowerCase())) return;
    external.push({ ref, line });
  };
  let i = 0;
  while (i < lines.length) {
    const line = i + 1;
    const first = lines[i++]!.trimStart();
    if (first === '' || first.startsWith('#')) continue;
    // Continued lines are joined once at the end: appending each to the whole would be quadratic.
    const parts = [first];
    while (parts[parts.length - 1]!.endsWith('\\') && i < lines.length) {
      const next = lines[i++]!;
      if (next.trimStart().startsWith('#')) continue;
      parts[parts.length - 1] = parts[parts.length - 1]!.slice(0, -1);
      parts.push(next);
    }
    const instruction = parts.join(' ');
    // A continuation from a lone `\` starts with the joining space, or holds nothing at all.
    const keyword = /^\S+/.exec(instruction.trimStart())?.[0].toUpperCase();
    if (keyword === undefined) continue;
    if (HEREDOC_INSTRUCTIONS.has(keyword)) i = skipHeredocs(instruction, lines, i);
    if (ENGINE_DEPENDENT.has(keyword) && stages.length > 0) engineDependent.push({ stage: stages.length - 1, keyword, line });
    if (keyword !== 'FROM' && keyword !== 'COPY') continue;
    const words = instruction.trim().split(/\s+/);
    const args = words.slice(1).filter((w) => !w.startsWith('--'));
    const flags = words.slice(1).filter((w) => w.startsWith('--'));
    if (keyword === 'FROM') {
      const image = imageOf(args[0]);
      if (image && !named.has(image)) named.set(image, line);
      outside(args[0], line);
      const stage = args[1]?.toUpperCase() === 'AS' ? (args[2] ?? '').toLowerCase() : '';
      stages.push(stage);
      stageNames.add(stage);
    } else if (keyword === 'COPY') {
      const from = flags.find((f) => f.toLowerCase().startsWith('--from='));
      const ref = from?.slice('--from='.length).replace(/^(["'])(.*)\1$/, '$2');
      const image = imageOf(ref);
      if (image && !named.has(image)) named.set(image, line);
      if (ref !== undefined && !/^\d+$/.test(ref)) outside(ref, line);
    }
  }
  return { dependencies: [...named.keys()].sort(), lines: Object.fromEntries(named), stages, external, engineDependent };
}

function imageOf(ref: string | undefined): string | undefined {
  return ref === undefined ? undefined : STAGEX_REF.exec(ref)?.[1];
}

/** Skips the bodies of the heredocs an instruction opens, in order; returns the next line index. */
function skipHeredocs(instruction: string, lines: readonly string[], from: number): number {
  let i = from;
  for (const [, dash, , word] of instruction.matchAll(HEREDOC)) {
    while (i < lines.length) {
      const line = lines[i++]!;
      if ((dash ? line.replace(/^\t+/, '') : line).trimEnd() === word) break;
    }
  }
  return i;
}

/**
 * The engine-dependent instructions of the stage `target` names (the last stage when null): one
 * message each, for the builder to warn with.
 */
export function packageStageWarnings(info: Pick<ContainerfileInfo, 'stages' | 'engineDependent'>, target: string | null): string[] {
  const stage = target === null ? info.stages.length - 1 : info.stages.indexOf(target.toLowerCase());
  return info.engineDependent
    .filter((step) => step.stage === stage)
    .map((step) => `line ${step.line}: ${step.keyword} in the package stage makes content engines disagree on (DESIGN section 3); the digest may differ between Docker and Podman`);
}
