import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { contextTar } from '../../daemon/builder/context-tar.ts';
import { BuilderError } from '../../daemon/builder/errors.ts';

async function entries(tar: Buffer) {
  const out: { name: string; mode: number | undefined; uid: number | undefined; mtime: number | undefined; content: string }[] = [];
  const reader = extract();
  Readable.from([tar]).pipe(reader);
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const { name, mode, uid, mtime } = entry.header;
    out.push({ name, mode, uid, mtime: mtime?.getTime(), content: Buffer.concat(chunks).toString('utf8') });
  }
  return out;
}

function isBadContext(error: unknown): boolean {
  return error instanceof BuilderError && error.code === 'BAD_CONTEXT';
}

describe('contextTar', () => {
  const files = new Map<string, string | Uint8Array>([
    ['patches/b.patch', 'b'],
    ['Containerfile', 'FROM scratch\n'],
    ['a', Uint8Array.from([1, 2, 3])],
    ['B', 'upper'],
  ]);

  it('puts the build file first as plain ustar, then the rest sorted bytewise', async () => {
    const tar = await contextTar(files);
    assert.equal(tar.subarray(0, 13).toString(), 'Containerfile');
    assert.equal(String.fromCharCode(tar[156]!), '0');
    assert.equal(tar.subarray(257, 262).toString(), 'ustar');
    const read = await entries(tar);
    assert.deepEqual(read.map((e) => e.name), ['Containerfile', 'B', 'a', 'patches/b.patch']);
    assert.equal(read[0]!.content, 'FROM scratch\n');
    assert.deepEqual(Buffer.from(read[2]!.content, 'utf8'), Buffer.from([1, 2, 3]));
  });

  it('fixes mode, owner and time, so equal files give equal bytes', async () => {
    const read = await entries(await contextTar(files));
    assert.ok(read.every((e) => e.mode === 0o644 && e.uid === 0 && e.mtime === 0));
    const reordered = new Map([...files].reverse());
    assert.deepEqual(await contextTar(reordered), await contextTar(files));
  });

  it('takes another build file name', async () => {
    const read = await entries(await contextTar(new Map([['x', 'x'], ['Dockerfile', 'FROM scratch\n']]), 'Dockerfile'));
    assert.deepEqual(read.map((e) => e.name), ['Dockerfile', 'x']);
  });

  it('when a later name needs PAX, still starts plain', async () => {
    const tar = await contextTar(new Map([['Containerfile', 'FROM scratch\n'], ['é', 'x']]));
    assert.equal(String.fromCharCode(tar[156]!), '0');
    assert.deepEqual((await entries(tar)).map((e) => e.name), ['Containerfile', 'é']);
  });

  it('when the build file is missing, throws BAD_CONTEXT', async () => {
    await assert.rejects(contextTar(new Map([['a', 'a']])), isBadContext);
  });

  for (const name of ['', 'dir/Containerfile', 'Contäinerfile', '..', 'x'.repeat(101)]) {
    it(`when the build file name is ${JSON.stringify(name.slice(0, 20))}, throws BAD_CONTEXT`, async () => {
      await assert.rejects(contextTar(new Map([[name, 'FROM scratch\n']]), name), isBadContext);
    });
  }

  for (const path of ['', '/etc/passwd', '../x', 'a/../b', 'a//b', './a', 'a/', 'a\0b']) {
    it(`when a path is ${JSON.stringify(path)}, throws BAD_CONTEXT`, async () => {
      await assert.rejects(contextTar(new Map([['Containerfile', 'FROM scratch\n'], [path, 'x']])), isBadContext);
    });
  }
});
