/**
 * The Containerfile scan (protocol/tree/containerfile.ts parseContainerfile): it reads any text
 * and never throws, so every input must give a well-formed ContainerfileInfo. Inputs: real StageX
 * Containerfiles edited, and lines built from the instructions the scan cares about with odd
 * continuations (a lone `\`, a continuation into a comment or the end of the file), heredocs
 * left open or closed with tabs, CRLF, any case, unicode spaces.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseContainerfile, type ContainerfileInfo } from '../../../protocol/tree/containerfile.ts';
import { mutatedText, type FuzzTarget } from '../harness.ts';
import { treeContainerfiles } from './stagex-tree.ts';

const own = [
  'FROM stagex/core-busybox AS build\nCOPY --from=stagex/core-musl . /\nRUN <<-EOF\n\techo FROM stagex/not-a-dep\n\tEOF\nFROM scratch AS package\nCOPY --from=build /out /\n',
  'FROM --platform=linux/386 stagex/bootstrap-stage0 AS build\nADD fetch/x.tar /x\nWORKDIR /x\nRUN make \\\n  # comment\n  install\nFROM build AS package-doc\n',
];

const word = fc.oneof(
  fc.constantFrom('FROM', 'from', 'COPY', 'copy', 'RUN', 'ADD', 'WORKDIR', 'ARG', 'AS', 'as', '#', '\\', '--from=build', '--from="stagex/core-gcc"', "--from='0'", '--platform=$P',
    'stagex/core-busybox', 'stagex/x:tag@sha256:00', 'stagex/', 'scratch', 'fetch', '$BASE', '<<EOF', '<<-EOF', '<<"EOF"', "<<'E'", '<<<EOF', 'EOF', '\tEOF', 'package', 'package-doc'),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom(' ', '\t', '\u00a0', '\u2028', '\ufeff'),
);
const line = fc.array(word, { maxLength: 6 }).map((words) => words.join(' '));
const generated = fc.tuple(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n', '\r')).map(([lines, eol]) => lines.join(eol));

/** Long files of one line repeated: continuations, stages, heredocs; a scan that is not linear takes seconds. */
const large = fc.tuple(fc.constantFrom('RUN a \\\n', 'FROM x AS s\n', 'RUN <<EOF <<EOF2 ', 'COPY --from=s a b\n'), fc.integer({ min: 1000, max: 20_000 }))
  .map(([line, times]) => line.repeat(times));

function checkInfo(value: unknown, input: string): void {
  const info = value as ContainerfileInfo;
  const lineCount = input.split(/\r?\n/).length;
  assert.deepEqual(info.dependencies, [...new Set(info.dependencies)].sort());
  assert.deepEqual(Object.keys(info.lines).sort(), info.dependencies);
  for (const n of [...Object.values(info.lines), ...info.external.map((e) => e.line), ...info.engineDependent.map((e) => e.line)]) {
    assert.ok(Number.isInteger(n) && n >= 1 && n <= lineCount, `line ${n} outside 1..${lineCount}`);
  }
  for (const step of info.engineDependent) assert.ok(step.stage >= 0 && step.stage < info.stages.length);
  for (const stage of info.stages) assert.equal(stage, stage.toLowerCase());
}

export const containerfileTarget: FuzzTarget<string> = {
  name: 'Containerfile scan',
  arbitrary: fc.oneof(
    { arbitrary: generated, weight: 8 },
    { arbitrary: mutatedText([...own, ...treeContainerfiles]), weight: 8 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 3 },
    { arbitrary: large, weight: 1 },
  ),
  decode: parseContainerfile,
  codes: [],
  where: 'Containerfile',
  check: checkInfo,
};
