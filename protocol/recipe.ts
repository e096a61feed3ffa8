/**
 * A StageX release's own build recipe (DESIGN section 3, "The StageX digest"), read from the tree
 * being built, never executed and never assumed: the `docker build` command of the image rule in
 * `src/targets.py`'s TARGET_TEMPLATE, and the environment `src/global.mk` exports. The recipe
 * changes between releases (2025.10.0 names the output `{name}`, 2026.01.0 `{stage}-{name}`), and
 * what it sets (output name, annotations, flags) is part of the published manifest digest, so each
 * release is built its own way. Pure: the caller reads the files.
 */
import { ProtocolError } from './errors.ts';

export interface Recipe {
  /** The build command's words after `$(BUILDER)`, placeholders (`{name}`, `$(PROGRESS)`) unfilled. */
  words: string[];
  /** `export NAME=value` lines of global.mk: the environment the Makefile builds in. */
  env: Record<string, string>;
  /** Where the command was read, for messages. */
  where: string;
}

/** What one image's build fills the recipe's placeholders with. */
export interface RecipeValues {
  stage: string;
  /** The image name without its stage (`stage0` for bootstrap-stage0; the subpackage's name). */
  name: string;
  /** The package directory's name (differs from `name` for a subpackage). */
  origin: string;
  /** The package version; `latest` when it has none, as targets.py does. */
  version: string;
  /** The platform built, e.g. `linux/386`. */
  platform: string;
  /** Replaces `{context_args}`: `--build-context` pairs. */
  contextArgs: string[];
  /** Replaces `{build_args}`: `--target` and `--build-arg` pairs. */
  buildArgs: string[];
  /** The directory standing for the recipe's `packages/{stage}/{origin}` (the build context). */
  contextDir: string;
  /** The file the OCI export is written to, standing for the recipe's `dest=-`. */
  dest: string;
  noCache: boolean;
  /** The `--progress` mode. */
  progress: string;
}

const TEMPLATE = /TARGET_TEMPLATE\s*=\s*"""([\s\S]*?)"""/;
/** Make variables the recipe may use, and what each becomes here. */
const MAKE_VARIABLES: Readonly<Record<string, (v: RecipeValues) => string[]>> = {
  EXTRA_ARGS: () => [],
  CHECK_FLAG: () => [],
  NOCACHE_FLAG: (v) => (v.noCache ? ['--no-cache'] : []),
  PROGRESS: (v) => [v.progress],
};

/** What a make variable of the recipe becomes here; BAD_RECIPE for one this reproducer does not know. */
function fillVariable(recipe: Recipe, name: string, values: RecipeValues): string[] {
  const fill = MAKE_VARIABLES[name];
  if (fill === undefined) throw new ProtocolError('BAD_RECIPE', `${recipe.where}: the build command uses $(${name}), which this reproducer does not know how to fill`);
  return fill(values);
}

/** Reads the recipe out of `targets.py` (and `global.mk`'s exports); BAD_RECIPE when it cannot be found or read safely. */
export function parseRecipe(targetsPy: string, globalMk: string, where = 'src/targets.py'): Recipe {
  const template = TEMPLATE.exec(targetsPy)?.[1];
  if (template === undefined) throw new ProtocolError('BAD_RECIPE', `${where}: expected a TARGET_TEMPLATE = """...""" string, got none`);
  // Python's escapes in the template as targets.py writes them, then make's line continuations.
  const text = template.replace(/\\(\\|t|n)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : '\\')).replace(/\\\n/g, ' ');
  const command = text.split('\n').flatMap((line) => line.split('&&')).map((c) => c.trim()).find((c) => c.startsWith('$(BUILDER)'));
  if (command === undefined) throw new ProtocolError('BAD_RECIPE', `${where}: expected a $(BUILDER) build command in TARGET_TEMPLATE, got none`);
  const words: string[] = [];
  for (const word of command.split(/\s+/).slice(1)) {
    if (word.startsWith('|')) break;
    if (/["'`;<>]/.test(word)) throw new ProtocolError('BAD_RECIPE', `${where}: the build command has shell syntax this reader does not run (${JSON.stringify(word)})`);
    words.push(word.replace(/\{\{/g, '{').replace(/\}\}/g, '}'));
  }
  if (words[0] !== 'build') throw new ProtocolError('BAD_RECIPE', `${where}: expected "$(BUILDER) build ...", got "$(BUILDER) ${words[0] ?? ''}"`);
  const output = words[words.indexOf('--output') + 1];
  if (!words.includes('--output') || output === undefined || !output.split(',').includes('type=oci')) {
    throw new ProtocolError('BAD_RECIPE', `${where}: expected --output type=oci,... in the build command, got ${JSON.stringify(output ?? 'none')}`);
  }
  const env: Record<string, string> = {};
  for (const match of globalMk.matchAll(/^export\s+([A-Z_][A-Z0-9_]*)=(\S*)\s*$/gm)) {
    if (!match[2]!.includes('$')) env[match[1]!] = match[2]!;
  }
  return { words, env, where };
}

/**
 * The arguments of `docker buildx` for one image: the recipe's words with its placeholders
 * filled, `packages/{stage}/{origin}` standing for `values.contextDir`, the export written to
 * `values.dest` instead of stdout, and `--network=none` (every build here is offline). An
 * unknown placeholder or make variable is BAD_RECIPE: a later release that adds one must be read
 * by someone, not guessed.
 */
export function recipeArgs(recipe: Recipe, values: RecipeValues): string[] {
  const fields: Record<string, string> = { stage: values.stage, name: values.name, origin: values.origin, version: values.version, platform_arg: values.platform };
  const lists: Record<string, string[]> = { context_args: values.contextArgs, build_args: values.buildArgs };
  const args: string[] = [];
  for (const word of recipe.words) {
    const list = /^\{(\w+)\}$/.exec(word)?.[1];
    if (list !== undefined && list in lists) {
      args.push(...lists[list]!);
      continue;
    }
    const variable = /^\$\((\w+)\)$/.exec(word)?.[1];
    if (variable !== undefined) {
      args.push(...fillVariable(recipe, variable, values));
      continue;
    }
    let filled = word.replace(/\$\((\w+)\)/g, (_, name: string) => fillVariable(recipe, name, values).join(' '));
    filled = filled.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = fields[name];
      if (value === undefined) throw new ProtocolError('BAD_RECIPE', `${recipe.where}: the build command uses {${name}}, which this reproducer does not know how to fill`);
      return value;
    });
    const packageDir = `packages/${values.stage}/${values.origin}`;
    if (filled === packageDir || filled.startsWith(`${packageDir}/`)) filled = values.contextDir + filled.slice(packageDir.length);
    args.push(filled);
  }
  const output = args.indexOf('--output') + 1;
  args[output] = args[output]!.split(',').map((option) => (option === 'dest=-' ? `dest=${values.dest}` : option)).join(',');
  if (!args[output]!.split(',').includes(`dest=${values.dest}`)) args[output] += `,dest=${values.dest}`;
  return [...args, '--network=none'];
}

/**
 * The recipe of StageX releases from 2026.01.0 on (output and source annotation named
 * `{stage}-{name}`; 2025.10.0 named them `{name}`), for a tree that carries no `src/targets.py`
 * of its own, such as the demo tree in packages/.
 */
export const DEFAULT_RECIPE: Recipe = {
  words: [
    'build', '--ulimit', 'nofile=2048:16384', '--tag', 'stagex/{stage}-{name}:{version}', '--provenance=false',
    '--build-arg', 'SOURCE_DATE_EPOCH=1', '--build-arg', 'BUILDKIT_MULTI_PLATFORM=1',
    '--output', 'name={stage}-{name},type=oci,rewrite-timestamp=true,force-compression=true,annotation.containerd.io/distribution.source.docker.io=stagex/{stage}-{name},annotation.org.opencontainers.image.version={version},annotation.org.opencontainers.image.created=1970-01-01T00:00:01Z,tar=true,dest=-',
    '{context_args}', '{build_args}', '$(EXTRA_ARGS)', '$(NOCACHE_FLAG)', '$(CHECK_FLAG)',
    '--platform={platform_arg}', '--progress=$(PROGRESS)', '-f', 'packages/{stage}/{origin}/Containerfile', 'packages/{stage}/{origin}',
  ],
  env: { TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C', SOURCE_DATE_EPOCH: '1', BUILDKIT_MULTI_PLATFORM: '1', DOCKER_BUILDKIT: '1' },
  where: 'the built-in recipe (StageX 2026.01.0 on)',
};
