import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageStageWarnings, parseContainerfile } from '../../../protocol/tree/containerfile.ts';
import { skipWithoutTree, STAGEX_TREE } from '../../helpers/shared.ts';

const deps = (text: string) => parseContainerfile(text).dependencies;

describe('parseContainerfile', () => {
  it('lists what FROM and COPY --from name outside the tree and its own stages: an engine would pull it', () => {
    const info = parseContainerfile([
      'FROM scratch AS build',
      'FROM stagex/core-gcc AS compile',
      'COPY --from=build / /',
      'COPY --from=0 / /',
      'COPY --from=fetch . /src',
      'FROM alpine:3 AS later',
      'COPY --from=Compile /x /x',
      'FROM ${BASE}',
      'FROM later',
      '',
    ].join('\n'));
    assert.deepEqual(info.external, [{ ref: 'fetch', line: 5 }, { ref: 'alpine:3', line: 6 }, { ref: '${BASE}', line: 8 }]);
  });

  it('warns about RUN, ADD and WORKDIR in the package stage only', () => {
    const info = parseContainerfile([
      'FROM stagex/core-gcc AS build',
      'RUN make',
      'FROM scratch AS package',
      'WORKDIR /opt/x',
      'COPY --from=build /rootfs/ /',
      'RUN <<-EOF',
      '\tRUN inside a heredoc is not an instruction',
      'EOF',
      '',
    ].join('\n'));
    assert.deepEqual(packageStageWarnings(info, 'package').map((w) => w.slice(0, 18)), ['line 4: WORKDIR in', 'line 6: RUN in the']);
    assert.deepEqual(packageStageWarnings(info, null).length, 2);
    assert.deepEqual(packageStageWarnings(info, 'build').map((w) => w.slice(0, 14)), ['line 2: RUN in']);
  });

  it('finds the three forms StageX uses', () => {
    assert.deepEqual(deps([
      'FROM --platform=linux/386 stagex/bootstrap-stage2 AS build',
      'COPY --from=stagex/core-gcc . /',
      'COPY --from=stagex/core-busybox /bin/bash /bin/sh',
      'FROM stagex/core-filesystem AS package',
      'COPY --from=build /rootfs/ /',
    ].join('\n')), ['bootstrap-stage2', 'core-busybox', 'core-filesystem', 'core-gcc']);
  });
  it('sorts and deduplicates, and gives the first line naming each', () => {
    const info = parseContainerfile('FROM scratch\nCOPY --from=stagex/b . /\nCOPY --from=stagex/a . /\nCOPY --from=stagex/b /x /y\n');
    assert.deepEqual(info.dependencies, ['a', 'b']);
    assert.deepEqual(info.lines, { a: 3, b: 2 });
  });
  it('reads keywords in any case, indented, with tags and digests dropped', () => {
    assert.deepEqual(deps('  from stagex/a:latest as build\n\tcopy --from=stagex/b@sha256:0123 . /\nCOPY --chown=0:0 --from=stagex/c:1.2 . /\n'), ['a', 'b', 'c']);
  });
  it('joins line continuations', () => {
    assert.deepEqual(deps('FROM \\\n  --platform=linux/386 \\\n  stagex/a AS build\nCOPY \\\n# a comment inside\n  --from=stagex/b . /\n'), ['a', 'b']);
  });
  it('ignores comments, stage references and scratch', () => {
    assert.deepEqual(deps('# FROM stagex/zeromq AS package\nFROM scratch AS build\nFROM build AS install\nCOPY --from=build / /\nCOPY --from=fetch . .\n'), []);
  });
  it('ignores what a heredoc body says', () => {
    const text = [
      'FROM stagex/a AS build',
      'RUN --network=none <<-EOF',
      '\tcat > Dockerfile <<-INNER \\',
      'FROM stagex/not-a-dependency',
      '\tEOF',
      'COPY <<"DATA" /x',
      'COPY --from=stagex/also-not . /',
      'DATA',
      'RUN cat <<<word',
      'COPY --from=stagex/b . /',
    ].join('\n');
    assert.deepEqual(deps(text), ['a', 'b']);
  });
  it('reads CRLF files', () => {
    assert.deepEqual(deps('FROM stagex/a AS build\r\nCOPY --from=stagex/b . /\r\n'), ['a', 'b']);
  });
  it('lists stage names lowercased, empty for a stage without AS', () => {
    assert.deepEqual(parseContainerfile('FROM scratch AS Build\nFROM stagex/x as package-X\nFROM scratch\n').stages, ['build', 'package-x', '']);
  });
  it('finds no stage in a file without FROM', () => {
    assert.deepEqual(parseContainerfile('# empty\n').stages, []);
  });

  it('agrees, on every Containerfile of StageX 2025.10.0, with the literal rule of DESIGN section 1', { skip: skipWithoutTree }, () => {
    const literal = /^(?:FROM (?:--platform=\S+ )?|COPY --from=)stagex\/([^\s:@]+)/;
    let files = 0;
    let edges = 0;
    for (const stage of ['bootstrap', 'core', 'pallet', 'user']) {
      for (const name of readdirSync(join(STAGEX_TREE, 'packages', stage))) {
        const path = join(STAGEX_TREE, 'packages', stage, name, 'Containerfile');
        if (!existsSync(path)) continue;
        const text = readFileSync(path, 'utf8');
        const expected = new Set(text.split('\n').map((l) => literal.exec(l)?.[1]).filter((d) => d !== undefined));
        assert.deepEqual(deps(text), [...expected].sort(), path);
        files += 1;
        edges += expected.size;
      }
    }
    assert.equal(files, 422);
    assert.ok(edges > 3000, `expected the tree's ~3100 edges, got ${edges}`);
  });
});
