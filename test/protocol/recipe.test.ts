import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RECIPE, parseRecipe, recipeArgs, type RecipeValues } from '../../protocol/recipe.ts';
import { STAGEX_TREE, skipWithoutTree } from '../helpers/shared.ts';
import { ProtocolError } from '../../protocol/errors.ts';

const throwsWith = (fn: () => unknown, code: string) => assert.throws(fn, (error: unknown) => error instanceof ProtocolError && error.code === code);
const read = (file: string) => readFileSync(join(STAGEX_TREE, 'src', file), 'utf8');
const VALUES: RecipeValues = {
  stage: 'bootstrap', name: 'stage0', origin: 'stage0', version: 'latest', platform: 'linux/386',
  contextArgs: ['--build-context', 'fetch=/c/fetch'], buildArgs: ['--build-arg', 'A=1'],
  contextDir: '/c', dest: '/o/export.tar', noCache: true, progress: 'plain',
};
const template = (words: string) => `TARGET_TEMPLATE = """\nout/x:\n\\trm -rf out && \\\\\n\\t$(BUILDER) \\\\\n\\t  ${words} \\\\\n\\t| tar -C out -mx\n"""\n`;

describe('parseRecipe', () => {
  describe('on the real 2025.10.0 targets.py', { skip: skipWithoutTree }, () => {
    it('reads the image rule\'s build command and global.mk\'s environment, filling it as the Makefile would', () => {
      const recipe = parseRecipe(read('targets.py'), read('global.mk'));
      assert.deepEqual(recipe.env, { TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C', SOURCE_DATE_EPOCH: '1', BUILDKIT_MULTI_PLATFORM: '1', DOCKER_BUILDKIT: '1' });
      assert.deepEqual(recipeArgs(recipe, VALUES), [
        'build', '--ulimit', 'nofile=2048:16384', '--tag', 'stagex/bootstrap-stage0:latest', '--provenance=false',
        '--build-arg', 'SOURCE_DATE_EPOCH=1', '--build-arg', 'BUILDKIT_MULTI_PLATFORM=1',
        '--output', 'name=stage0,type=oci,rewrite-timestamp=true,force-compression=true,annotation.containerd.io/distribution.source.docker.io=stagex/stage0,annotation.org.opencontainers.image.version=latest,annotation.org.opencontainers.image.created=1970-01-01T00:00:01Z,tar=true,dest=/o/export.tar',
        '--build-context', 'fetch=/c/fetch', '--build-arg', 'A=1', '--no-cache',
        '--platform=linux/386', '--progress=plain', '-f', '/c/Containerfile', '/c', '--network=none',
      ]);
    });
    it('a later release that names its output {stage}-{name} is built its own way, with no code change', () => {
      const later = read('targets.py').replaceAll('name={name},', 'name={stage}-{name},').replaceAll('docker.io=stagex/{name}', 'docker.io=stagex/{stage}-{name}');
      const output = recipeArgs(parseRecipe(later, read('global.mk')), VALUES).find((a) => a.startsWith('name='))!;
      assert.match(output, /^name=bootstrap-stage0,.*docker\.io=stagex\/bootstrap-stage0,/);
      assert.deepEqual(recipeArgs(parseRecipe(later, read('global.mk')), VALUES), recipeArgs(DEFAULT_RECIPE, VALUES));
    });
  });

  it('passes no --no-cache when the cache may be used, and appends dest when the recipe names none', () => {
    const recipe = parseRecipe(template('build $(NOCACHE_FLAG) --output type=oci,tar=true {build_args} packages/{stage}/{origin}'), '');
    assert.deepEqual(recipeArgs(recipe, { ...VALUES, noCache: false }), ['build', '--output', 'type=oci,tar=true,dest=/o/export.tar', '--build-arg', 'A=1', '/c', '--network=none']);
  });
  it('refuses a tree without TARGET_TEMPLATE, or without a $(BUILDER) build command: BAD_RECIPE', () => {
    throwsWith(() => parseRecipe('print("hello")', ''), 'BAD_RECIPE');
    throwsWith(() => parseRecipe(template('').replace('$(BUILDER)', 'podman'), ''), 'BAD_RECIPE');
  });
  it('refuses an output that is not an OCI export: BAD_RECIPE', () => {
    throwsWith(() => parseRecipe(template('build --output type=image,push=true .'), ''), 'BAD_RECIPE');
  });
  it('refuses shell syntax it would have to run: BAD_RECIPE', () => {
    throwsWith(() => parseRecipe(template('build --output type=oci "$(cat x)"'), ''), 'BAD_RECIPE');
  });
  it('refuses, when filled, a placeholder or make variable it does not know, rather than guess: BAD_RECIPE', () => {
    throwsWith(() => recipeArgs(parseRecipe(template('build --output type=oci,name={flavour} .'), ''), VALUES), 'BAD_RECIPE');
    throwsWith(() => recipeArgs(parseRecipe(template('build $(SIGNING_FLAGS) --output type=oci .'), ''), VALUES), 'BAD_RECIPE');
  });
});
