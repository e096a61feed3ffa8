import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { collectionDue, GROWTH_MB, heapRelease, type Gc } from '../../daemon/heap-release.ts';

/** V8's own gc() (the one --expose-gc gives), from a context created after the flag is set. */
function realGc(): Gc {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Gc;
}

type Line = { event: string; level: string | undefined; fields: Record<string, unknown> };

describe('collectionDue', () => {
  it('is due the first time, then only once the resident set has grown by the threshold since the last collection', () => {
    assert.equal(collectionDue(180, undefined), true);
    assert.equal(collectionDue(180 + GROWTH_MB - 1, 180), false);
    assert.equal(collectionDue(180 + GROWTH_MB, 180), true);
    // A smaller resident set (tables released since) is never a reason.
    assert.equal(collectionDue(120, 180), false);
    assert.equal(collectionDue(181, 180, 0), true);
  });
});

describe('heapRelease', () => {
  it('with gc(): collects with the last-resort flavor, which hands the freed heap pages back, and logs the pause and RSS before and after; then not again until the RSS has grown', () => {
    const gc = realGc();
    const calls: unknown[] = [];
    const lines: Line[] = [];
    const heap = heapRelease((options) => (calls.push(options), gc(options)), (event, fields = {}, level) => void lines.push({ event, level, fields }));
    // ~250 MB of V8 heap, all of it garbage once the normal full collection has run.
    let garbage: unknown[] | undefined = Array.from({ length: 2_000_000 }, (_, i) => ({ i, text: `item ${i}`, list: [i] }));
    assert.equal(garbage.length, 2_000_000);
    garbage = undefined;
    gc({ type: 'major', execution: 'sync' });
    const fields = heap.release();
    assert.deepEqual(calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
    assert.equal(fields.gc, 'last-resort');
    assert.ok(Number(fields.gcMs) >= 0 && Number(fields.gcCpuMs) >= 0, JSON.stringify(fields));
    // A normal full collection keeps the pages resident; the last-resort one gives them back.
    assert.ok(Number(fields.rssMb) - Number(fields.rssAfterGcMb) > 100, `RSS ${fields.rssMb} -> ${fields.rssAfterGcMb} MB: expected over 100 MB given back`);
    const again = heap.release();
    assert.equal(again.gc, 'not due');
    assert.equal(again.rssAfterLastGcMb, fields.rssAfterGcMb);
    assert.equal(calls.length, 1);
    assert.deepEqual(lines, []);
  });

  it('without gc(): collects nothing, says so in each line, and once at debug level why', () => {
    const lines: Line[] = [];
    const heap = heapRelease(undefined, (event, fields = {}, level) => void lines.push({ event, level, fields }));
    for (let i = 0; i < 3; i++) {
      const fields = heap.release();
      assert.equal(fields.gc, 'unavailable');
      assert.ok(Number(fields.rssMb) > 0);
    }
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.event, 'heap.gc_unavailable');
    assert.equal(lines[0]!.level, 'debug');
    assert.match(String(lines[0]!.fields.why), /--expose-gc/);
  });
});
