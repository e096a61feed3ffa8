/**
 * From package directories to the images of a tree (DESIGN section 1): each package read alone,
 * then `version_from`, then the dependency edges its Containerfile names, then cycles. Every
 * error is collected, one per root cause: a package that depends, directly or not, on a package
 * with an error is left out without a second message. Pure: daemon/tree.ts reads the files.
 */
import { parseContainerfile, type ContainerfileInfo } from './containerfile.ts';
import { TreeError } from './errors.ts';
import { compare, findCycles } from './order.ts';
import { buildArgs, NAME, packageImages, parsePackageToml, resolveSources, type ImageTarget, type PackageToml, type Source, type Stage } from './package.ts';

/** One package directory `packages/<stage>/<name>/`, as read from disk or written by a test. */
export interface PackageInput {
  stage: Stage;
  /** The directory's name. */
  name: string;
  /** How messages name the directory; its files are `${dir}/package.toml` and `${dir}/Containerfile`. */
  dir: string;
  toml: string;
  containerfile: string;
  /** sha256 hex of every file of the directory by relative posix path, package.toml and Containerfile included. */
  files: Readonly<Record<string, string>>;
  /** The files (keys of `files`) with an executable bit: they reach the build context as 0755, the rest as 0644. Default none. */
  executables?: readonly string[];
}

/** A package directory whose files could not be read (daemon/tree.ts): reported, its dependants left out. */
export interface UnreadablePackage {
  stage: Stage;
  name: string;
  error: TreeError;
}

/** A package whose images can be built: version resolved, sources expanded, dependencies known. */
export interface Package {
  /** `<stage>-<name>`, what `version_from` names. */
  id: string;
  stage: Stage;
  name: string;
  dir: string;
  /** Its own version or the one `version_from` gives; null when it has none (core-filesystem). */
  version: string | null;
  description?: string;
  licenses: string[];
  website?: string;
  platforms: string[];
  sources: Source[];
  /** The `--build-arg`s StageX passes to every image of the package. */
  buildArgs: Record<string, string>;
  images: ImageTarget[];
  /** Images its Containerfile names, sorted: the same for every image of the package. */
  dependencies: string[];
  /** What its Containerfile names outside the tree and its own stages (see ContainerfileInfo): it cannot be built offline. */
  external: { ref: string; line: number }[];
  /** Its Containerfile's stages and their RUN/ADD/WORKDIR lines, for packageStageWarnings. */
  stages: Pick<ContainerfileInfo, 'stages' | 'engineDependent'>;
  files: Readonly<Record<string, string>>;
  /** The files with an executable bit, sorted (PackageInput.executables). */
  executables: readonly string[];
}

/** One image of the tree, the unit that is built, digested and attested. */
export interface Image {
  /** `<stage>-<name>` or `<stage>-<subpackage>`: the second column of `digests/<stage>.txt`. */
  name: string;
  /** The id of the package that makes it. */
  package: string;
  /** The Containerfile stage to build; null: the last stage, no --target (see packageImages). */
  target: string | null;
  version: string | null;
  platforms: string[];
  dependencies: string[];
}

export interface Tree {
  /** By package id, sorted. */
  packages: ReadonlyMap<string, Package>;
  /** By image name, sorted; every dependency of an image is in it, and there is no cycle. */
  images: ReadonlyMap<string, Image>;
}

export interface ResolvedTree extends Tree {
  /** Every problem found, in package order; what they affect is left out of packages and images. */
  errors: TreeError[];
}

interface Parsed {
  input: PackageInput;
  id: string;
  toml: PackageToml;
  containerfile: ContainerfileInfo;
  images: ImageTarget[];
}

/** Thrown inside resolution when a package only fails because another one did (already reported). */
const BLOCKED = Symbol('blocked');

export function resolveTree(inputs: readonly (PackageInput | UnreadablePackage)[]): ResolvedTree {
  const errors: TreeError[] = [];
  /** Image names (and ids of unreadable packages) that exist in the tree but failed. */
  const failed = new Set<string>();
  const attempt = <T>(names: readonly string[], run: () => T): T | undefined => {
    try {
      return run();
    } catch (error) {
      if (error instanceof TreeError) errors.push(error);
      else if (error !== BLOCKED) throw error;
      names.forEach((n) => failed.add(n));
      return undefined;
    }
  };

  const parsed = new Map<string, Parsed>();
  const owner = new Map<string, string>();
  for (const input of [...inputs].sort((a, b) => compare(idOf(a), idOf(b)))) {
    const id = idOf(input);
    const one = attempt([id], () => {
      if ('error' in input) throw input.error;
      return readPackage(input, id);
    });
    if (!one) continue;
    const clash = one.images.find((i) => owner.has(i.image));
    if (clash) {
      errors.push(new TreeError('duplicate-image', `${one.input.dir}/package.toml`, `image ${clash.image}: expected one package to make it, got ${owner.get(clash.image)} and ${id}`));
      one.images.forEach((i) => owner.has(i.image) || failed.add(i.image));
      continue;
    }
    parsed.set(id, one);
    one.images.forEach((i) => owner.set(i.image, id));
  }

  const packages = new Map<string, Package>();
  for (const one of parsed.values()) {
    const file = `${one.input.dir}/package.toml`;
    const pkg = attempt(one.images.map((i) => i.image), () => {
      const version = resolveVersion(one, parsed, owner, failed);
      const sources = resolveSources(one.toml, version, file);
      return toPackage(one, version, sources);
    });
    if (pkg) packages.set(pkg.id, pkg);
  }

  for (const pkg of packages.values()) {
    const unknown = pkg.dependencies.filter((d) => !owner.has(d) && !failed.has(d));
    const one = parsed.get(pkg.id)!;
    for (const dep of unknown) {
      errors.push(new TreeError('unknown-dependency', `${pkg.dir}/Containerfile`, `stagex/${dep}: expected an image of this tree, got a name no package makes`, { line: one.containerfile.lines[dep] }));
    }
  }
  const images = new Map<string, Image>();
  for (const pkg of packages.values()) for (const target of pkg.images) images.set(target.image, toImage(pkg, target));
  dropBroken(images, packages);
  for (const cycle of findCycles(images)) {
    const first = images.get(cycle[0]!)!;
    errors.push(new TreeError('cycle', `${packages.get(first.package)!.dir}/Containerfile`, `dependency cycle: ${cycle.join(' -> ')}`, { cycle }));
    cycle.forEach((name) => images.delete(name));
  }
  dropBroken(images, packages);
  return { packages: sortedMap(packages), images: sortedMap(images), errors };
}

function idOf(input: PackageInput | UnreadablePackage): string {
  return `${input.stage}-${input.name}`;
}

function readPackage(input: PackageInput, id: string): Parsed {
  if (!NAME.test(input.name)) throw new TreeError('name', input.dir, `directory name: expected letters, digits, ".", "_", "+" or "-", got ${JSON.stringify(input.name)}`);
  const toml = parsePackageToml(input.toml, `${input.dir}/package.toml`);
  if (toml.name !== input.name) throw new TreeError('name', `${input.dir}/package.toml`, `name: expected ${JSON.stringify(input.name)} (the directory's name), got ${JSON.stringify(toml.name)}`);
  const containerfile = parseContainerfile(input.containerfile);
  const file = `${input.dir}/Containerfile`;
  if (containerfile.stages.length === 0) throw new TreeError('containerfile', file, 'expected at least one FROM instruction, got none');
  return { input, id, toml, containerfile, images: packageImages(input.stage, toml, { file, stages: containerfile.stages }) };
}

/**
 * Follows `version_from` (a package id, or an image name standing for its package). Only the
 * first step is this package's to report; a failure further along is another package's error.
 */
function resolveVersion(one: Parsed, parsed: ReadonlyMap<string, Parsed>, owner: ReadonlyMap<string, string>, failed: ReadonlySet<string>): string | null {
  const file = `${one.input.dir}/package.toml`;
  const chain = [one.id];
  let at = one;
  while (at.toml.versionFrom !== undefined) {
    const from = at.toml.versionFrom;
    const next = parsed.has(from) ? from : owner.get(from);
    const ours = at === one;
    if (next === undefined) {
      if (!ours || failed.has(from)) throw BLOCKED;
      throw new TreeError('version-from', file, `version_from: expected a package <stage>-<name> of this tree, got ${JSON.stringify(from)}`);
    }
    if (chain.includes(next)) {
      if (next !== one.id) throw BLOCKED;
      throw new TreeError('version-from', file, `version_from loops: ${[...chain, next].join(' -> ')}`);
    }
    chain.push(next);
    at = parsed.get(next)!;
  }
  if (at.toml.version !== undefined) return at.toml.version;
  if (chain.length === 1) return null;
  if (chain.length > 2) throw BLOCKED;
  throw new TreeError('version-from', file, `version_from = ${JSON.stringify(one.toml.versionFrom)}: expected a package with a version, got one without`);
}

function toPackage(one: Parsed, version: string | null, sources: Source[]): Package {
  const { toml, input } = one;
  return {
    id: one.id,
    stage: input.stage,
    name: input.name,
    dir: input.dir,
    version,
    ...(toml.description === undefined ? {} : { description: toml.description }),
    licenses: toml.licenses,
    ...(toml.website === undefined ? {} : { website: toml.website }),
    platforms: toml.platforms,
    sources,
    buildArgs: buildArgs(version, sources),
    images: one.images,
    dependencies: one.containerfile.dependencies,
    external: one.containerfile.external,
    stages: { stages: one.containerfile.stages, engineDependent: one.containerfile.engineDependent },
    files: input.files,
    executables: [...(input.executables ?? [])].sort(),
  };
}

function toImage(pkg: Package, target: ImageTarget): Image {
  return { name: target.image, package: pkg.id, target: target.target, version: pkg.version, platforms: pkg.platforms, dependencies: pkg.dependencies };
}

/**
 * Removes, until nothing changes, every image with a dependency outside `images` and every
 * package that lost an image, with its other images: a package is built whole or not at all.
 */
function dropBroken(images: Map<string, Image>, packages: Map<string, Package>): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const [name, image] of images) {
      if (image.dependencies.some((d) => !images.has(d))) {
        images.delete(name);
        changed = true;
      }
    }
    for (const [id, pkg] of packages) {
      if (pkg.images.every((i) => images.has(i.image))) continue;
      packages.delete(id);
      pkg.images.forEach((i) => images.delete(i.image));
      changed = true;
    }
  }
}

function sortedMap<V>(map: ReadonlyMap<string, V>): Map<string, V> {
  return new Map([...map].sort(([a], [b]) => compare(a, b)));
}
