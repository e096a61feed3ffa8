/**
 * A Docker build the way the release's own recipe does it (DESIGN section 3, "The StageX
 * digest"): the context as a directory, sources in `fetch/` and as the `fetch` context,
 * dependencies as `--build-context stagex/<dep>=oci-layout://<its recipe output>`, the recipe's
 * arguments read from the tree (protocol/recipe.ts), one `docker buildx build` whose OCI export
 * gives both digests: the StageX digest (its per-platform manifest) and, canonicalized, the
 * canonical digest everyone must agree on.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recipeArgs } from '../../protocol/recipe.ts';
import { canonicalize } from '../../canonical/index.ts';
import type { EngineOutput, PreparedBuild } from './build-image.ts';
import { runBuildx } from './buildx.ts';
import { FETCH, stageContext } from './context-dir.ts';
import { BuilderError } from './errors.ts';
import { outputPaths } from './outputs.ts';
import { hasRecipeOutput, loadRecipeOutput, manifestDigestOf, unpackExport } from './stagex-output.ts';

export async function buildWithRecipe(build: PreparedBuild): Promise<EngineOutput> {
  const { step, pkg, image } = build;
  const paths = outputPaths(build.outputs, step.inputDigest);
  const contextDir = await stageContext(join(paths.work, 'context'), pkg, build.sources);
  const contextArgs = ['--build-context', `${FETCH}=${join(contextDir, FETCH)}`];
  for (const need of step.needs) {
    const layout = outputPaths(build.outputs, need.inputDigest).stagex;
    if (!(await hasRecipeOutput(layout))) {
      throw new BuilderError('EXTERNAL_IMAGE', `${pkg.dir}/Containerfile: needs stagex/${need.image}, whose recipe output ${layout} is missing: build ${need.image} first`);
    }
    contextArgs.push('--build-context', `stagex/${need.image}=oci-layout://${layout}`);
  }
  // StageX passes --target only for a subpackage (targets.py get_build_args).
  const buildArgs = image.target?.startsWith('package-') ? ['--target', image.target] : [];
  for (const [name, value] of Object.entries(pkg.buildArgs)) buildArgs.push('--build-arg', `${name}=${value}`);
  const dest = join(paths.work, 'export.tar');
  await runBuildx({
    args: recipeArgs(build.recipe, {
      stage: pkg.stage,
      name: step.image.slice(pkg.stage.length + 1),
      origin: pkg.name,
      version: pkg.version ?? 'latest',
      platform: step.platform,
      contextArgs,
      buildArgs,
      contextDir,
      dest,
      noCache: build.noCache,
      progress: 'plain',
    }),
    env: build.recipe.env,
    socketPath: build.socketPath,
    what: `${step.image} (${step.platform})`,
    ...(build.signal ? { signal: build.signal } : {}),
    ...(build.onProgress ? { onProgress: build.onProgress } : {}),
  });
  await unpackExport(dest, paths.stagex);
  const stagexDigest = await manifestDigestOf(paths.stagex, step.platform);
  await loadRecipeOutput(build.engine, paths.stagex, step.image, step.inputDigest);
  const canonical = await canonicalize(dest, paths.layout, { tag: `stagex/${step.image}:latest` });
  await rm(paths.work, { recursive: true, force: true });
  return { digest: canonical.digest.replace(/^sha256:/, ''), stagexDigest };
}
