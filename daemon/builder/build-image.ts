/**
 * One build (DESIGN sections 1 and 3): the package directory and its verified sources as the
 * context (`fetch/<file>`, as StageX lays them out), the build args StageX passes, the engine
 * build tagged `stagex/<image>:latest` (so dependants' `FROM stagex/<image>` resolve with no
 * pull), then the export canonicalized into the outputs directory and the record written last.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildStep } from '../../protocol/build-plan.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import type { Package, Tree } from '../../protocol/tree/graph.ts';
import { packageStageWarnings } from '../../protocol/tree/containerfile.ts';
import type { BuildEvent } from './build-progress.ts';
import { canonicalize } from '../../canonical/index.ts';
import { contextStream, filesTar, type ContextFile } from './context-tar.ts';
import type { Engine, EngineInfo } from './engine.ts';
import { BuilderError } from './errors.ts';
import { clearUnfinished, outputPaths, writeRecord, type BuildRecord } from './outputs.ts';
import { fetchSources, type SourceEvent } from './sources.ts';

/**
 * StageX also passes a package's sources as a named build context `fetch` (`COPY --from=fetch`,
 * in bootstrap-stage1 to stage3 among others). The Engine API takes no named context without a
 * session, so the same files are given as a local image of that name, made just before the build.
 */
export const FETCH_CONTEXT = 'fetch';

/** The name an image has in the engine: what other Containerfiles name it by. */
export function localTag(image: string): string {
  return `stagex/${image}:latest`;
}

/** A second name for the image of one input digest, so a later run finds exactly that image. */
export function inputTag(image: string, inputDigest: string): { repo: string; tag: string; name: string } {
  const repo = `stagex/${image}`;
  const tag = `in-${inputDigest}`;
  return { repo, tag, name: `${repo}:${tag}` };
}

export interface ImageBuild {
  tree: Tree;
  step: BuildStep;
  engine: Engine;
  engineInfo: EngineInfo;
  /** The source cache (sources.ts). */
  cache: string;
  outputs: string;
  /** Output digests (hex) of the step's dependencies. */
  dependencyDigests: ReadonlyMap<string, string>;
  noCache: boolean;
  signal?: AbortSignal;
  onSource?: (event: SourceEvent) => void;
  onProgress?: (event: BuildEvent) => void;
}

/** Builds one step and returns its record; the layout is in outputPaths(outputs, inputDigest).layout. */
export async function buildImage(build: ImageBuild): Promise<BuildRecord> {
  const { tree, step, engine } = build;
  const image = tree.images.get(step.image)!;
  const pkg = tree.packages.get(image.package)!;
  const startedOn = new Date().toISOString();
  await refusePulls(build, pkg);
  const sources = await fetchSources(pkg.sources, build.cache, {
    ...(build.signal ? { signal: build.signal } : {}),
    ...(build.onSource ? { onEvent: build.onSource } : {}),
  });
  const files = new Map<string, ContextFile>();
  for (const [file, sha256] of Object.entries(pkg.files)) files.set(file, await packageFile(pkg.dir, file, sha256));
  for (const message of packageStageWarnings(pkg.stages, image.target)) build.onProgress?.({ kind: 'warning', step: image.target ?? '(last stage)', message });
  const fetched = new Map<string, ContextFile>();
  for (const source of pkg.sources) {
    const path = sources.get(source.id)!;
    fetched.set(source.file, { path, size: (await stat(path)).size });
  }
  for (const [file, content] of fetched) files.set(`${FETCH_CONTEXT}/${file}`, content);
  if (pkg.external.some((e) => e.ref === FETCH_CONTEXT)) await engine.importImage(filesTar(fetched), FETCH_CONTEXT, 'latest');
  const tag = localTag(step.image);
  const imageId = await engine.build({
    contextTar: contextStream(files),
    ...(image.target === null ? {} : { target: image.target }),
    platform: step.platform,
    buildArgs: pkg.buildArgs,
    tag,
    noCache: build.noCache,
    ...(build.signal ? { signal: build.signal } : {}),
  }, build.onProgress);
  const pinned = inputTag(step.image, step.inputDigest);
  await engine.tag(imageId, pinned.repo, pinned.tag);
  await clearUnfinished(build.outputs, step.inputDigest);
  const canonical = await canonicalize(await engine.exportImage(tag), outputPaths(build.outputs, step.inputDigest).layout, { tag });
  const record: BuildRecord = {
    image: step.image,
    platform: step.platform,
    inputDigest: step.inputDigest,
    digest: canonical.digest.replace(/^sha256:/, ''),
    engine: { name: build.engineInfo.name, version: build.engineInfo.version, imageId },
    sources: pkg.sources.map((s) => ({ uri: s.mirrors[0]!, sha256: s.hash })),
    dependencies: step.needs.map((n) => ({ image: n.image, digest: build.dependencyDigests.get(n.image)! })),
    startedOn,
    finishedOn: new Date().toISOString(),
  };
  await writeRecord(build.outputs, record);
  return record;
}

/**
 * A package file as planned: read whole (package files are small: Containerfiles, patches), and
 * refused when it changed since the tree was read, since the input digest would no longer hold.
 */
async function packageFile(dir: string, file: string, sha256: string): Promise<Uint8Array> {
  const bytes = await readFile(join(dir, file));
  const got = sha256Hex(bytes);
  if (got !== sha256) throw new BuilderError('BAD_CONTEXT', `${join(dir, file)}: changed since the tree was read (sha256 ${got}, planned ${sha256}); plan again`);
  return bytes;
}

/**
 * Builds here pull nothing: an image the Containerfile names must be a stage of its own, a
 * dependency already in the engine, or the `fetch` context, or the engine would reach for a
 * registry. EXTERNAL_IMAGE names what is missing or outside the tree.
 */
async function refusePulls(build: ImageBuild, pkg: Package): Promise<void> {
  const file = join(pkg.dir, 'Containerfile');
  for (const { ref, line } of pkg.external.filter((e) => e.ref !== FETCH_CONTEXT)) {
    throw new BuilderError('EXTERNAL_IMAGE', `${file}:${line}: names ${JSON.stringify(ref)}, neither one of its stages nor stagex/<image>: the engine would try to pull it, and builds here pull nothing`);
  }
  for (const dep of pkg.dependencies) {
    if (!(await build.engine.hasImage(localTag(dep)))) throw new BuilderError('EXTERNAL_IMAGE', `${file}: needs ${localTag(dep)}, which the engine does not have: the engine would try to pull it; build ${dep} first`);
  }
}
