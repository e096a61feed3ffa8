import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type LayerEntry, Squash } from '../../canonical/squash.ts';

type E = LayerEntry<string>;
const dir = (path: string, mode = 0o755, uid = 0): E => ({ path, type: 'directory', mode, uid, gid: uid, size: 0, linkname: '', source: '' });
const file = (path: string, content = path, mode = 0o644): E => ({ path, type: 'file', mode, uid: 0, gid: 0, size: content.length, linkname: '', source: content });
const link = (path: string, target: string): E => ({ path, type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: target, source: '' });

function squash(...layers: E[][]): Squash<string> {
  const result = new Squash<string>();
  layers.forEach((layer, i) => result.applyLayer(layer, `layer ${i + 1}`));
  return result;
}
const paths = (s: Squash<string>) => [...s.entries()].map((e) => e.path);

describe('Squash', () => {
  describe('whiteouts', () => {
    it('deletes a lower path and its subtree with .wh.<name>', () => {
      assert.deepEqual(paths(squash([dir('a'), file('a/x'), dir('a/d'), file('a/d/y')], [file('a/.wh.d')])), ['a', 'a/x']);
    });
    it('empties a directory of lower entries with .wh..wh..opq, keeping its own layer\'s', () => {
      assert.deepEqual(paths(squash([dir('a'), file('a/x')], [dir('a'), file('a/.wh..wh..opq'), file('a/new')])), ['a', 'a/new']);
    });
    it('never hides an entry of its own layer, whatever the order', () => {
      assert.deepEqual(paths(squash([file('x')], [file('y'), file('.wh.y'), file('.wh.x')])), ['y']);
    });
    it('ignores aufs bookkeeping names and whiteouts of missing paths', () => {
      assert.deepEqual(paths(squash([file('x')], [file('.wh..wh.plnk'), file('nothere/.wh.z'), file('.wh.missing')])), ['x']);
    });
  });

  it('sorts bytewise by full path, not directory by directory', () => {
    assert.deepEqual(paths(squash([dir('a'), file('a/b'), file('a-c'), file('a.d')])), ['a', 'a-c', 'a.d', 'a/b']);
  });

  it('drops the root entry and creates missing parents as 0755 0:0', () => {
    const entries = [...squash([dir('./', 0o700, 5), { ...file('x/y/z'), uid: 9 }]).entries()];
    assert.deepEqual(entries.map((e) => [e.path, e.type, e.mode, e.uid, e.gid]), [['x', 'directory', 0o755, 0, 0], ['x/y', 'directory', 0o755, 0, 0], ['x/y/z', 'file', 0o644, 9, 0]]);
  });

  it('keeps a directory\'s children when a later layer changes its metadata', () => {
    const entries = [...squash([dir('d', 0o755), file('d/x')], [dir('d', 0o700, 1000)]).entries()];
    assert.deepEqual(entries.map((e) => [e.path, e.mode, e.uid]), [['d', 0o700, 1000], ['d/x', 0o644, 0]]);
  });

  it('replaces a directory by a file (subtree gone) and a file by a directory', () => {
    assert.deepEqual(paths(squash([dir('d'), file('d/x'), file('f')], [file('d'), dir('f'), file('f/y')])), ['d', 'f', 'f/y']);
  });

  it('masks modes to 07777 and writes symlinks 0777', () => {
    const entries = [...squash([file('s', 's', 0o104755), { ...file('l'), type: 'symlink', mode: 0o120755, linkname: '/target' }]).entries()];
    assert.deepEqual(entries.map((e) => [e.path, e.mode]), [['l', 0o777], ['s', 0o4755]]);
  });

  describe('hard links', () => {
    it('point at the bytewise-smallest path of their group, which carries the data', () => {
      const entries = [...squash([dir('bin'), file('bin/busybox', 'BB', 0o755), link('bin/[', 'bin/busybox')], [link('bin/ash', 'bin/busybox')]).entries()];
      assert.deepEqual(entries.map((e) => [e.path, e.type, e.linkname, e.size, e.source]), [
        ['bin', 'directory', '', 0, undefined],
        ['bin/[', 'file', '', 2, 'BB'],
        ['bin/ash', 'hardlink', 'bin/[', 0, undefined],
        ['bin/busybox', 'hardlink', 'bin/[', 0, undefined],
      ]);
    });
    it('keep the old content when their target is replaced later', () => {
      const entries = [...squash([file('a', 'old'), link('b', 'a')], [file('a', 'new')]).entries()];
      assert.deepEqual(entries.map((e) => [e.path, e.type, e.source]), [['a', 'file', 'new'], ['b', 'file', 'old']]);
    });
    it('fail with BAD_LAYER when the target is missing or a directory', () => {
      assert.throws(() => squash([link('b', 'a')]), { code: 'BAD_LAYER' });
      assert.throws(() => squash([dir('d'), link('b', 'd')]), { code: 'BAD_LAYER' });
    });
  });

  it('refuses a path with ".." with BAD_LAYER', () => {
    assert.throws(() => squash([file('a/../../etc/passwd')]), { code: 'BAD_LAYER' });
  });

  it('refuses a path under a lower non-directory with BAD_LAYER', () => {
    assert.throws(() => squash([file('a')], [file('a/b')]), { code: 'BAD_LAYER' });
  });

  it('fails with SPECIAL_FILE when a fifo or device remains, not when a whiteout removed it', () => {
    const fifo: E = { ...file('run/p'), type: 'fifo' };
    const device: E = { ...file('dev/null'), type: 'char' };
    assert.throws(() => squash([fifo]).entries(), { code: 'SPECIAL_FILE' });
    assert.throws(() => squash([device]).entries(), { code: 'SPECIAL_FILE' });
    assert.deepEqual(paths(squash([device], [file('dev/.wh.null')])), ['dev']);
  });
});
