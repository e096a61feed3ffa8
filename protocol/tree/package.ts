/**
 * One package.toml (package.toml(5), DESIGN section 1), read as real trees hold it: tolerant of
 * missing or misspelt metadata (`license`, `licenses`, no `version`), strict only where a build
 * would be impossible or ambiguous. Pure: the caller reads the file.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { describeValue, valueAt } from '../errors.ts';
import { platformSchema } from '../statement.ts';
import { TreeError } from './errors.ts';
import { expandTemplate, versionForms, VERSION_PLACEHOLDERS, type VersionForms } from './template.ts';

export const STAGES = ['bootstrap', 'core', 'pallet', 'user'] as const;
export type Stage = (typeof STAGES)[number];

/** A package, subpackage or source name: what StageX image names are made of. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
export const DEFAULT_PLATFORMS: readonly string[] = ['linux/amd64'];

const name = z.string().regex(NAME, 'expected a name of letters, digits, ".", "_", "+" or "-"');
/** Descriptive fields never stop a build: a wrong type is dropped, not an error. */
const text = z.string().optional().catch(undefined);
const strings = z.union([z.string().transform((s) => [s]), z.array(z.string())]).optional().catch(undefined);

const sourceSchema = z.looseObject({
  hash: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected a sha256: 64 hex characters').transform((h) => h.toLowerCase()),
  mirrors: z.array(z.string().min(1)).min(1, 'expected at least one mirror URL'),
  version: z.string().min(1).optional(),
  file: z.string().min(1).optional(),
  format: z.string().optional(),
  git_sha: z.string().min(1).optional(),
});

const packageSchema = z.looseObject({
  name,
  version: z.string().min(1).optional(),
  version_from: z.string().min(1).optional(),
  description: text,
  license: strings,
  licenses: strings,
  website: text,
  subpackages: z.array(name).optional(),
  platforms: z.array(platformSchema).optional(),
}).refine((p) => p.version === undefined || p.version_from === undefined, {
  message: 'expected either version or version_from, got both',
  path: ['version_from'],
});

const fileSchema = z.looseObject({
  package: packageSchema,
  sources: z.record(z.string().regex(NAME, 'expected a source id of letters, digits, ".", "_", "+" or "-"'), sourceSchema).optional(),
});

/** A source table as written: templates not yet expanded. */
export interface SourceToml {
  id: string;
  hash: string;
  mirrors: string[];
  version?: string;
  file?: string;
  format: string;
  gitSha?: string;
}

/** A package.toml as written; `versionFrom` is resolved against the tree (graph.ts). */
export interface PackageToml {
  name: string;
  version?: string;
  /** `<stage>-<name>` of the package whose version this one takes. */
  versionFrom?: string;
  description?: string;
  /** `license` and `licenses` together (real trees use both, as a string or a list). */
  licenses: string[];
  website?: string;
  /** Listed subpackages, duplicates dropped; empty when none (StageX treats `[]` as none). */
  subpackages: string[];
  /** Default `linux/amd64`; duplicates dropped, order kept. */
  platforms: string[];
  /** In file order. */
  sources: SourceToml[];
}

/** Parses package.toml text; TreeError BAD_PACKAGE (problem `toml` with its line, or `field`). */
export function parsePackageToml(text: string, file: string): PackageToml {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    throw new TreeError('toml', file, `not valid TOML: ${reason} (column ${error.column})`, { line: error.line, cause: error });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const at = issue.path.join('.') || '(root)';
      const value = valueAt(raw, issue.path);
      if (value === undefined) return `${at}: required, missing`;
      return `${at}: ${issue.message}, got ${describeValue(value)}`;
    });
    throw new TreeError('field', file, problems.join('; '));
  }
  const { package: pkg, sources = {} } = parsed.data;
  return {
    name: pkg.name,
    ...(pkg.version === undefined ? {} : { version: pkg.version }),
    ...(pkg.version_from === undefined ? {} : { versionFrom: pkg.version_from }),
    ...(pkg.description === undefined ? {} : { description: pkg.description }),
    licenses: [...(pkg.license ?? []), ...(pkg.licenses ?? [])],
    ...(pkg.website === undefined ? {} : { website: pkg.website }),
    subpackages: [...new Set(pkg.subpackages ?? [])],
    platforms: pkg.platforms?.length ? [...new Set(pkg.platforms)] : [...DEFAULT_PLATFORMS],
    sources: Object.entries(sources).map(([id, s]) => ({
      id,
      hash: s.hash,
      mirrors: s.mirrors,
      ...(s.version === undefined ? {} : { version: s.version }),
      ...(s.file === undefined ? {} : { file: s.file }),
      format: s.format ?? '',
      ...(s.git_sha === undefined ? {} : { gitSha: s.git_sha }),
    })),
  };
}

/** A source with its templates expanded for the package's resolved version. */
export interface Source {
  id: string;
  /** sha256 hex of the fetched file. */
  hash: string;
  /** The source's own version, else the package's; null when neither has one. */
  version: string | null;
  format: string;
  /** The fetched file's name (`<ID>_SOURCE`): `file` expanded, else the first mirror's last path segment. */
  file: string;
  /** Expanded URLs, tried in order. */
  mirrors: string[];
  gitSha: string | null;
}

/** Expands every source of a package; TreeError `template` names the source and field. */
export function resolveSources(toml: PackageToml, version: string | null, file: string): Source[] {
  return toml.sources.map((source) => {
    const own = source.version ?? version;
    const values: Record<string, string | undefined> = { ...(own === null ? {} : versionForms(own)), format: source.format };
    const expand = (template: string, field: string, extra: Record<string, string> = {}): string => {
      const result = expandTemplate(template, { ...values, ...extra });
      if ('text' in result) return result.text;
      throw new TreeError('template', file, `[sources.${source.id}] ${field}: ${whyMissing(result.missing, field)}, got ${describeValue(template)}`);
    };
    const fileName = source.file === undefined
      ? lastSegment(expand(source.mirrors[0]!, 'mirrors[0]'), source.id, file)
      : expand(source.file, 'file');
    return {
      id: source.id,
      hash: source.hash,
      version: own,
      format: source.format,
      file: fileName,
      mirrors: source.mirrors.map((m, i) => expand(m, `mirrors[${i}]`, { file: fileName })),
      gitSha: source.gitSha ?? null,
    };
  });
}

function whyMissing(placeholder: string, field: string): string {
  if ((VERSION_PLACEHOLDERS as readonly string[]).includes(placeholder)) return `{${placeholder}} has no value: neither the source nor the package has a version`;
  if (placeholder === 'file') return field === 'file' ? '{file} is only available in mirrors' : '{file} is used but the source has no `file`';
  return `unknown placeholder {${placeholder}}, expected one of ${[...VERSION_PLACEHOLDERS, 'format', 'file'].map((p) => `{${p}}`).join(' ')}`;
}

/** The last path segment of a URL (query and fragment dropped), as StageX's urlsplit(...).path. */
function lastSegment(url: string, id: string, file: string): string {
  const path = url.replace(/[?#].*$/, '');
  const segment = path.slice(path.lastIndexOf('/') + 1);
  if (segment === '') throw new TreeError('field', file, `[sources.${id}] no file: expected \`file\` or a first mirror ending in a file name, got ${describeValue(url)}`);
  return segment;
}

/**
 * The build args StageX passes (DESIGN section 1): the VERSION_* forms when the package has a
 * version, then per source `<ID>_VERSION` (when it has one), `<ID>_SOURCE` and `<ID>_GIT_SHA`
 * (when set), `<ID>` the source id upper-cased.
 */
export function buildArgs(version: string | null, sources: readonly Source[]): Record<string, string> {
  const args: Record<string, string> = {};
  if (version !== null) {
    const forms: VersionForms = versionForms(version);
    for (const key of VERSION_PLACEHOLDERS) args[key.toUpperCase()] = forms[key];
  }
  for (const source of sources) {
    const id = source.id.toUpperCase();
    if (source.version !== null) args[`${id}_VERSION`] = source.version;
    args[`${id}_SOURCE`] = source.file;
    if (source.gitSha !== null) args[`${id}_GIT_SHA`] = source.gitSha;
  }
  return args;
}

/** One image a package makes and the Containerfile stage that builds it. */
export interface ImageTarget {
  image: string;
  /** `package-<s>` for a subpackage; `package` when that stage exists; null: the last stage (no --target). */
  target: string | null;
}

/**
 * The images of a package (DESIGN section 1): `<stage>-<s>` per listed subpackage, built with
 * `--target package-<s>`; else `<stage>-<name>`. StageX passes no --target for a package without
 * subpackages; 18 of 2025.10.0 (pallets, py-*) have no `package` stage, so `package` is the
 * target only where the stage exists (it is then the last one).
 */
export function packageImages(stage: Stage, toml: PackageToml, containerfile: { file: string; stages: readonly string[] }): ImageTarget[] {
  const has = (target: string) => containerfile.stages.includes(target);
  if (toml.subpackages.length === 0) return [{ image: `${stage}-${toml.name}`, target: has('package') ? 'package' : null }];
  return toml.subpackages.map((sub) => {
    const target = `package-${sub}`;
    if (!has(target.toLowerCase())) throw new TreeError('containerfile', containerfile.file, `subpackage ${sub}: expected a stage \`AS ${target}\`, got stages ${describeValue(containerfile.stages)}`);
    return { image: `${stage}-${sub}`, target };
  });
}
