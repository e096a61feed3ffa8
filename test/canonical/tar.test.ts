import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { extract } from 'tar-stream';
import { decodeHeader, decodePaxRecords, encodeHeader, encodePaxRecords, type CanonicalHeader } from '../../canonical/tar.ts';
import { tarOf } from '../helpers/image-archive.ts';

const file: CanonicalHeader = { path: 'etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 12, linkname: '' };

/** Reads encoded headers back with tar-stream, an independent reader. */
async function readBack(header: Buffer, data = Buffer.alloc(0)): Promise<{ name: string; type: string; mode: number; uid: number; gid: number; size: number; linkname: string | null; pax?: unknown }> {
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  const reader = extract();
  reader.end(Buffer.concat([header, data, padding, Buffer.alloc(1024)]));
  for await (const entry of reader) {
    entry.resume();
    return entry.header as never;
  }
  throw new Error('no entry');
}

describe('encodeHeader', () => {
  it('writes one ustar block as Go archive/tar does: NUL-terminated octal, mtime 0, names empty, "ustar\\0" "00"', () => {
    const block = encodeHeader(file);
    assert.equal(block.length, 512);
    assert.equal(block.toString('latin1', 0, 11), 'etc/passwd\0');
    assert.equal(block.toString('latin1', 100, 108), '0000644\0');
    assert.equal(block.toString('latin1', 108, 124), '0000000\x000000000\0');
    assert.equal(block.toString('latin1', 124, 136), '00000000014\0');
    assert.equal(block.toString('latin1', 136, 148), '00000000000\0');
    assert.equal(block.toString('latin1', 156, 157), '0');
    assert.equal(block.toString('latin1', 257, 265), 'ustar\x0000');
    assert.equal(block.subarray(265, 329).every((b) => b === 0), true, 'uname and gname are empty');
    assert.equal(block.toString('latin1', 329, 345), '0000000\x000000000\0');
    const sum = [...block].reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 0x20 : b), 0);
    assert.equal(block.toString('latin1', 148, 156), `${sum.toString(8).padStart(6, '0')}\0 `);
  });

  it('ends directory names with "/"', async () => {
    const header = await readBack(encodeHeader({ ...file, path: 'usr/lib', type: 'directory', mode: 0o755, size: 0 }));
    assert.equal(header.name, 'usr/lib/');
    assert.equal(header.type, 'directory');
  });

  it('splits a long name over prefix and name rather than writing pax', async () => {
    const path = `${'d'.repeat(80)}/${'e'.repeat(60)}/file`;
    const block = encodeHeader({ ...file, path });
    assert.equal(block.length, 512, 'no pax header');
    assert.equal(block.toString('latin1', 345, 345 + 141), `${'d'.repeat(80)}/${'e'.repeat(60)}`);
    assert.equal((await readBack(block, Buffer.alloc(12))).name, path);
  });

  it('writes pax only for what ustar cannot hold, records sorted by key', async () => {
    const path = `dir/${'n'.repeat(120)}`;
    const target = `/${'t'.repeat(150)}`;
    const big = { ...file, path, uid: 0o10000000, gid: 7, type: 'symlink' as const, size: 0, linkname: target, capability: '\x01\x00\x00\x02' };
    const bytes = encodeHeader(big);
    assert.equal(bytes.length, 512 * 3);
    assert.equal(bytes.toString('latin1', 156, 157), 'x');
    const records = decodePaxRecords(bytes.subarray(512, 512 + Number.parseInt(bytes.toString('latin1', 124, 135), 8)), 'test');
    assert.deepEqual([...records.keys()], ['SCHILY.xattr.security.capability', 'linkpath', 'path', 'uid']);
    const header = await readBack(bytes);
    assert.equal(header.name, path);
    assert.equal(header.linkname, target);
    assert.equal((header.pax as Record<string, string>).uid, String(0o10000000), 'tar-stream leaves pax uid in header.pax');
    assert.equal(header.gid, 7);
  });

  it('counts its own length in each pax record, across a digit boundary', () => {
    for (const length of [1, 90, 92, 93, 94, 995, 996, 997]) {
      const [record] = encodePaxRecords([['path', 'p'.repeat(length)]]).toString('latin1').split('\n');
      assert.equal(Number(record!.split(' ')[0]), record!.length + 1, `value of ${length} bytes`);
    }
  });
});

describe('decodeHeader', () => {
  it('reads back what it encodes', () => {
    const decoded = decodeHeader(encodeHeader({ ...file, path: 'a/b', type: 'hardlink', size: 0, linkname: 'a/c', uid: 1000, gid: 100, mode: 0o4755 }), 'test');
    assert.deepEqual(decoded, { type: 'hardlink', name: 'a/b', linkname: 'a/c', mode: 0o4755, uid: 1000, gid: 100, size: 0 });
  });

  it('returns null for the zero block that ends an archive', () => {
    assert.equal(decodeHeader(Buffer.alloc(512), 'test'), null);
  });

  it('reads tar-stream headers, including device and fifo types', async () => {
    const tar = await tarOf([{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 }, { name: 'p', type: 'fifo' }]);
    assert.equal(decodeHeader(tar.subarray(0, 512), 'test')?.type, 'char');
    assert.equal(decodeHeader(tar.subarray(512, 1024), 'test')?.type, 'fifo');
  });

  it('reads GNU base-256 numbers', () => {
    const block = encodeHeader(file);
    block.fill(0, 124, 136);
    block[124] = 0x80;
    block.writeUIntBE(2 ** 40, 130, 6);
    block.write('        ', 148, 'latin1');
    const sum = [...block].reduce((acc, b) => acc + b, 0);
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.equal(decodeHeader(block, 'test')?.size, 2 ** 40);
  });

  it('rejects a block whose checksum does not match with BAD_TAR', () => {
    const block = encodeHeader(file);
    block[0] = 0x41;
    assert.throws(() => decodeHeader(block, 'test'), { code: 'BAD_TAR' });
  });

  it('rejects unsupported entry types (GNU sparse) with BAD_TAR', () => {
    const block = encodeHeader(file);
    block.write('S', 156, 'latin1');
    const sum = [...block].reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 0x20 : b), 0);
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.throws(() => decodeHeader(block, 'test'), { code: 'BAD_TAR' });
  });

  it('rejects malformed pax records with BAD_TAR', () => {
    assert.throws(() => decodePaxRecords(Buffer.from('99 path=x\n'), 'test'), { code: 'BAD_TAR' });
    assert.throws(() => decodePaxRecords(Buffer.from('7 pathx\n'), 'test'), { code: 'BAD_TAR' });
  });
});
