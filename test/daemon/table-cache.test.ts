import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AttestationStore } from '../../store/store.ts';
import { readAttestation } from '../../protocol/attestation.ts';
import { HashIndex } from '../../daemon/net/hash-index.ts';
import { coolTableCache } from '../../daemon/table-cache.ts';
import { envelopeBytes, policyOf, signers } from '../helpers/fixtures.ts';
import { until } from '../../scripts/local-network.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('coolTableCache', () => {
  const stops: (() => unknown)[] = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  it('reads a spread sample once the start-up scans are done, then once after each burst of sync traffic has gone quiet', async () => {
    const keys = signers(1);
    const policy = policyOf(1, keys);
    const store = await AttestationStore.open(join(tempDir('stagex-table-cache'), 'db'));
    stops.push(() => store.close());
    await store.putMany(Array.from({ length: 600 }, (_, i) => readAttestation(envelopeBytes(keys[0]!, { image: `core-p${i}` }), policy, 'test')));
    const index = HashIndex.open(store);
    let scansDone = () => {};
    const scanned = new Promise<void>((resolve) => (scansDone = resolve));
    let traffic = 0;
    const events: Record<string, unknown>[] = [];
    const stop = coolTableCache({ store, index, scanned, activity: () => traffic, intervalMs: 20, log: (event, fields) => void events.push({ event, ...fields }) });
    stops.push(stop);
    await index.loaded;
    // Nothing before the scans are done, however quiet sync is.
    assert.equal(events.length, 0);
    scansDone();
    await until('released after the scans', async () => events.length === 1, 30_000);
    assert.equal(events[0]!.event, 'store.tables_released');
    assert.equal(events[0]!.reason, 'start-up scans done');
    assert.ok(Number(events[0]!.reads) > 200 && Number(events[0]!.reads) <= 256, `reads ${events[0]!.reads}: a spread sample of the 600`);
    traffic = 1000;
    await until('released after sync went quiet', async () => events.length === 2, 30_000);
    assert.equal(events[1]!.reason, 'sync quiet');
  });
});
