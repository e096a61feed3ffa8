/**
 * A build through the Docker-compatible Engine API with no session (Podman 5's compat API): the
 * context as a tar, dependencies as local tags `stagex/<image>:latest` (the API takes no named
 * contexts without a session), the `fetch` context as a local image of that name, then the image
 * exported and canonicalized. Records the canonical digest only: Buildah cannot make StageX's
 * BuildKit OCI export, so a Podman reproducer vouches for no StageX digest.
 */
import { stat } from 'node:fs/promises';
import { canonicalize } from '../../canonical/index.ts';
import { FETCH, readPackageFile } from './context-dir.ts';
import { contextStream, filesTar, type ContextFile } from './context-tar.ts';
import type { EngineOutput, PreparedBuild } from './build-image.ts';
import { BuilderError } from './errors.ts';
import { outputPaths } from './outputs.ts';

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

export async function buildThroughApi(build: PreparedBuild): Promise<EngineOutput> {
  const { engine, step, pkg, image } = build;
  for (const dep of pkg.dependencies) {
    if (!(await engine.hasImage(localTag(dep)))) throw new BuilderError('EXTERNAL_IMAGE', `${pkg.dir}/Containerfile: needs ${localTag(dep)}, which the engine does not have: the engine would try to pull it; build ${dep} first`);
  }
  const files = new Map<string, ContextFile>();
  for (const file of Object.keys(pkg.files)) files.set(file, await readPackageFile(pkg, file));
  const fetched = new Map<string, ContextFile>();
  for (const [file, path] of build.sources) fetched.set(file, { path, size: (await stat(path)).size });
  for (const [file, content] of fetched) files.set(`${FETCH}/${file}`, content);
  if (pkg.external.some((e) => e.ref === FETCH)) await engine.importImage(filesTar(fetched), FETCH, 'latest');
  const tag = localTag(step.image);
  const imageId = await engine.build({
    contextTar: contextStream(files, undefined, new Set(pkg.executables)),
    ...(image.target === null ? {} : { target: image.target }),
    platform: step.platform,
    buildArgs: pkg.buildArgs,
    tag,
    noCache: build.noCache,
    ...(build.signal ? { signal: build.signal } : {}),
  }, build.onProgress);
  const pinned = inputTag(step.image, step.inputDigest);
  await engine.tag(imageId, pinned.repo, pinned.tag);
  const canonical = await canonicalize(await engine.exportImage(tag), outputPaths(build.outputs, step.inputDigest).layout, { tag });
  return { digest: canonical.digest.replace(/^sha256:/, ''), imageId };
}
