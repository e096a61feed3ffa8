/**
 * One build (DESIGN sections 1 and 3): the package directory and its verified sources as the
 * context (`fetch/<file>`, as StageX lays them out), the build args StageX passes, then the image
 * canonicalized into the outputs directory and the record written last. Docker builds the way the
 * release's own recipe does (recipe-build.ts) and records the StageX digest too; Podman builds
 * through its Docker-compatible API (api-build.ts) and records the canonical digest only.
 */
import type { BuildStep } from '../../protocol/build-plan.ts';
import type { Recipe } from '../../protocol/recipe.ts';
import type { Image, Package, Tree } from '../../protocol/tree/graph.ts';
import { packageStageWarnings } from '../../protocol/tree/containerfile.ts';
import { buildThroughApi } from './api-build.ts';
import { FETCH } from './context-dir.ts';
import type { BuildEvent } from './build-progress.ts';
import type { Engine, EngineInfo } from './engine.ts';
import { BuilderError } from './errors.ts';
import { openBuildLog } from './build-log.ts';
import { clearUnfinished, outputPaths, writeRecord, type BuildRecord } from './outputs.ts';
import { buildWithRecipe } from './recipe-build.ts';
import { fetchSources, type SourceEvent } from './sources.ts';

export interface ImageBuild {
  tree: Tree;
  step: BuildStep;
  engine: Engine;
  engineInfo: EngineInfo;
  /** The release recipe Docker builds with (recipe-file.ts). */
  recipe: Recipe;
  /** The engine's socket, for the docker CLI. */
  socketPath: string;
  /** The source cache (sources.ts). */
  cache: string;
  outputs: string;
  /** Output digests (hex) of the step's dependencies. */
  dependencyDigests: ReadonlyMap<string, string>;
  noCache: boolean;
  /** Per mirror and source, the most bytes fetched (sources.ts). Default 8 GiB. */
  maxSourceBytes?: number;
  /** The hard limit on the whole build, in ms; past it the build is killed with BUILD_TIMEOUT. Default 48 h. */
  timeoutMs?: number;
  signal?: AbortSignal;
  onSource?: (event: SourceEvent) => void;
  onProgress?: (event: BuildEvent) => void;
}

/** What an engine path made: the canonical digest, and what the engine names the image by. */
export interface EngineOutput {
  /** The canonical output digest, hex. */
  digest: string;
  /** The engine's image id (Podman), when it keeps the image. */
  imageId?: string;
  /** The release recipe's per-platform manifest digest, hex (Docker). */
  stagexDigest?: string;
}

/** What both engine paths are given: the package, its image, and its sources by file name -> path in the cache. */
export interface PreparedBuild extends ImageBuild {
  image: Image;
  pkg: Package;
  sources: ReadonlyMap<string, string>;
}

/** The default hard limit on one build (48 h: StageX's largest packages take hours on a small machine). */
export const DEFAULT_BUILD_TIMEOUT_MS = 48 * 3600 * 1000;

/**
 * Builds one step and returns its record; the layouts are in outputPaths(outputs, inputDigest),
 * beside the build's log (build.log). The whole build, sources included, has a hard time limit:
 * when it passes, the build is aborted (the docker CLI's process group killed, Podman's request
 * aborted) and fails with BUILD_TIMEOUT.
 */
export async function buildImage(build: ImageBuild): Promise<BuildRecord> {
  const timeoutMs = build.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = build.signal === undefined ? timeout : AbortSignal.any([build.signal, timeout]);
  try {
    return await buildWithin({ ...build, signal });
  } catch (error) {
    if (timeout.aborted && build.signal?.aborted !== true) {
      throw new BuilderError('BUILD_TIMEOUT', `build of ${build.step.image} (${build.step.platform}): expected to finish within ${timeoutMs / 1000} s (builder.buildTimeoutSeconds), got no result; killed`, { cause: error });
    }
    throw error;
  }
}

async function buildWithin(build: ImageBuild & { signal: AbortSignal }): Promise<BuildRecord> {
  const { tree, step } = build;
  const image = tree.images.get(step.image)!;
  const pkg = tree.packages.get(image.package)!;
  const startedOn = new Date().toISOString();
  refuseExternal(pkg);
  const fetched = await fetchSources(pkg.sources, build.cache, {
    signal: build.signal,
    ...(build.maxSourceBytes === undefined ? {} : { maxBytes: build.maxSourceBytes }),
    ...(build.onSource ? { onEvent: build.onSource } : {}),
  });
  const sources = new Map(pkg.sources.map((source) => [source.file, fetched.get(source.id)!]));
  await clearUnfinished(build.outputs, step.inputDigest);
  const log = openBuildLog(outputPaths(build.outputs, step.inputDigest).log);
  const onProgress = (event: BuildEvent): void => {
    log.write(event);
    build.onProgress?.(event);
  };
  let output: EngineOutput;
  try {
    for (const message of packageStageWarnings(pkg.stages, image.target)) onProgress({ kind: 'warning', step: image.target ?? '(last stage)', message });
    const prepared = { ...build, image, pkg, sources, onProgress };
    output = build.engineInfo.name === 'docker' ? await buildWithRecipe(prepared) : await buildThroughApi(prepared);
  } finally {
    await log.close();
  }
  const record: BuildRecord = {
    image: step.image,
    platform: step.platform,
    inputDigest: step.inputDigest,
    digest: output.digest,
    engine: {
      name: build.engineInfo.name,
      version: build.engineInfo.version,
      ...(output.imageId === undefined ? {} : { imageId: output.imageId }),
      ...(output.stagexDigest === undefined ? {} : { stagexDigest: output.stagexDigest }),
    },
    sources: pkg.sources.map((s) => ({ uri: s.mirrors[0]!, sha256: s.hash })),
    dependencies: step.needs.map((n) => ({ image: n.image, digest: build.dependencyDigests.get(n.image)! })),
    startedOn,
    finishedOn: new Date().toISOString(),
  };
  await writeRecord(build.outputs, record);
  return record;
}

/**
 * Builds here pull nothing: an image the Containerfile names must be a stage of its own, a
 * dependency of the tree, or the `fetch` context, or the engine would reach for a registry.
 */
function refuseExternal(pkg: Package): void {
  for (const { ref, line } of pkg.external.filter((e) => e.ref !== FETCH)) {
    throw new BuilderError('EXTERNAL_IMAGE', `${pkg.dir}/Containerfile:${line}: names ${JSON.stringify(ref)}, neither one of its stages nor stagex/<image>: the engine would try to pull it, and builds here pull nothing`);
  }
}
