/**
 * The identity of a build (DESIGN section 2): the sha256 of the canonical JSON of everything a
 * build of one image for one platform consumes, its dependencies by their own input digests.
 * Computed from the tree alone, so reproducers agree on it before anyone builds. Pure.
 */
import { canonicalJson, sha256Hex } from '../encoding.ts';
import type { Image, Package, Tree } from './graph.ts';
import { buildOrder } from './order.ts';

/** What is hashed; canonicalJson sorts the keys. */
export interface InputDocument {
  name: string;
  /** null for a package without a version. */
  version: string | null;
  platform: string;
  /** null: the Containerfile's last stage (see packageImages). */
  target: string | null;
  /**
   * Every file of the package directory by relative posix path: its sha256 hex and the mode it
   * reaches the build context with (`0755` when executable, else `0644`, as a git checkout gives
   * them), since the mode reaches the image (the real `hex0-seed` must stay executable).
   */
  files: Readonly<Record<string, { mode: FileMode; sha256: string }>>;
  /** sha256 hex of every source, sorted. */
  sources: string[];
  /** Dependency image name -> its input digest (for dependencyPlatform). */
  deps: Record<string, string>;
}

/** The two modes a package file can have in a build context. */
export type FileMode = '0644' | '0755';

/** The mode `file` of `pkg` is given in the build context. */
export function fileMode(pkg: Pick<Package, 'executables'>, file: string): FileMode {
  return pkg.executables.includes(file) ? '0755' : '0644';
}

/** Image name -> platform -> input digest (hex). */
export type InputDigests = Map<string, Map<string, string>>;

/**
 * The platform a dependency is built for when an image is built for `platform`: the same one
 * when the dependency has it, else its first platform. This is how StageX wires its contexts
 * (its Makefile generator, get_dep_platform): bootstrap-stage3 (linux/amd64) builds FROM
 * bootstrap-stage2, which exists only for linux/386.
 */
export function dependencyPlatform(dep: Pick<Image, 'platforms'>, platform: string): string {
  return dep.platforms.includes(platform) ? platform : dep.platforms[0]!;
}

/** The document of one (image, platform); `digestOf` gives the dependencies' digests. */
export function inputDocument(tree: Tree, name: string, platform: string, digestOf: (dep: string, platform: string) => string): InputDocument {
  const image = tree.images.get(name)!;
  const pkg = tree.packages.get(image.package)!;
  const deps: Record<string, string> = {};
  for (const dep of image.dependencies) deps[dep] = digestOf(dep, dependencyPlatform(tree.images.get(dep)!, platform));
  return {
    name,
    version: image.version,
    platform,
    target: image.target,
    files: Object.fromEntries(Object.entries(pkg.files).map(([file, sha256]) => [file, { mode: fileMode(pkg, file), sha256 }])),
    sources: pkg.sources.map((s) => s.hash).sort(),
    deps,
  };
}

export function digestDocument(document: InputDocument): string {
  return sha256Hex(canonicalJson(document));
}

/**
 * Input digests of every platform of every image of the tree, or of the closure of `requested`,
 * computed in build order so each dependency's digest is known before it is needed.
 */
export function inputDigests(tree: Tree, requested?: Iterable<string>): InputDigests {
  const digests: InputDigests = new Map();
  const digestOf = (dep: string, platform: string) => digests.get(dep)!.get(platform)!;
  for (const name of buildOrder(tree, requested)) {
    const byPlatform = new Map<string, string>();
    for (const platform of tree.images.get(name)!.platforms) byPlatform.set(platform, digestDocument(inputDocument(tree, name, platform, digestOf)));
    digests.set(name, byPlatform);
  }
  return digests;
}
