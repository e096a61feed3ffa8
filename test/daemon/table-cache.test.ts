import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AttestationStore } from '../../store/store.ts';
import { readAttestation } from '../../protocol/attestation.ts';
import { HashIndex } from '../../daemon/net/hash-index.ts';
import { coolTableCache } from '../../daemon/table-cache.ts';
import { exposedGc, heapRelease, type Gc } from '../../daemon/heap-release.ts';
import type { Log } from '../../daemon/log.ts';
import { envelopeBytes, policyOf, signers } from '../helpers/fixtures.ts';
import { until } from '../../scripts/local-network.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('coolTableCache', () => {
  const stops: (() => unknown)[] = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  /** A store of 600 envelopes, its index, and a cooler of them with gates the test opens. */
  async function cooling(heap?: (log: Log) => ReturnType<typeof heapRelease>) {
    const keys = signers(1);
    const policy = policyOf(1, keys);
    const store = await AttestationStore.open(join(tempDir('stagex-table-cache'), 'db'));
    stops.push(() => store.close());
    await store.putMany(Array.from({ length: 600 }, (_, i) => readAttestation(envelopeBytes(keys[0]!, { image: `core-p${i}` }), policy, 'test')));
    const index = HashIndex.open(store);
    let scansDone = () => {};
    const scanned = new Promise<void>((resolve) => (scansDone = resolve));
    const gate = { traffic: 0, scansDone: () => scansDone() };
    const events: Record<string, unknown>[] = [];
    const log: Log = (event, fields, level) => void events.push({ event, level, ...fields });
    stops.push(coolTableCache({ store, index, scanned, activity: () => gate.traffic, intervalMs: 20, log, ...(heap ? { heap: heap(log) } : {}) }));
    await index.loaded;
    const released = () => events.filter((e) => e.event === 'store.tables_released');
    return { gate, events, released };
  }

  it('reads a spread sample once the start-up scans are done, then once after each burst of sync traffic has gone quiet, collecting V8\'s heap after the reads when due, in the same line', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as Gc;
    const calls: unknown[] = [];
    // Due the first time only (a growth no test reaches): the line says which.
    const { gate, events, released } = await cooling((log) => heapRelease((options) => (calls.push(options), gc(options)), log, 1e6));
    // Nothing before the scans are done, however quiet sync is.
    assert.equal(events.length, 0);
    gate.scansDone();
    await until('released after the scans', async () => released().length === 1, 30_000);
    const first = released()[0]!;
    assert.equal(first.reason, 'start-up scans done');
    assert.ok(Number(first.reads) > 200 && Number(first.reads) <= 256, `reads ${first.reads}: a spread sample of the 600`);
    assert.equal(first.gc, 'last-resort');
    assert.ok(Number(first.gcMs) >= 0 && Number(first.rssMb) > 0 && Number(first.rssAfterGcMb) > 0, JSON.stringify(first));
    assert.deepEqual(calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
    gate.traffic = 1000;
    await until('released after sync went quiet', async () => released().length === 2, 30_000);
    const second = released()[1]!;
    assert.equal(second.reason, 'sync quiet');
    assert.equal(second.gc, 'not due');
    assert.equal(second.rssAfterLastGcMb, first.rssAfterGcMb);
    assert.equal(calls.length, 1);
    assert.equal(events.length, 2);
  });

  it('without gc() (not started by `stagex-node start`): releases the tables all the same, each line saying no collection ran, and why once at debug level', { skip: exposedGc() ? 'this test process has gc()' : false }, async () => {
    const { gate, events, released } = await cooling();
    gate.scansDone();
    await until('released after the scans', async () => released().length === 1, 30_000);
    gate.traffic = 1000;
    await until('released after sync went quiet', async () => released().length === 2, 30_000);
    assert.deepEqual(released().map((e) => e.gc), ['unavailable', 'unavailable']);
    const told = events.filter((e) => e.event === 'heap.gc_unavailable');
    assert.equal(told.length, 1);
    assert.equal(told[0]!.level, 'debug');
    assert.equal(events.length, 3);
  });
});
