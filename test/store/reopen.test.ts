import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadGate } from '../../store/reopen.ts';

describe('ReadGate', () => {
  it('runs exclusive work only once running reads end, and holds new reads back until it is done', async () => {
    const gate = new ReadGate();
    const order: string[] = [];
    let endRead!: () => void;
    const read = gate.read(() => new Promise<void>((resolve) => { endRead = resolve; }).then(() => { order.push('first read'); }));
    const exclusive = gate.exclusive(async () => { order.push('exclusive'); }, 60_000);
    const later = gate.read(async () => { order.push('later read'); });
    await new Promise(setImmediate);
    assert.deepEqual(order, []);
    endRead();
    await Promise.all([read, exclusive, later]);
    assert.deepEqual(order, ['first read', 'exclusive', 'later read']);
  });

  it('gives up on reads that do not end, and lets reads in again', async () => {
    const gate = new ReadGate();
    void gate.read(() => new Promise(() => {}));
    let ran = false;
    assert.equal(await gate.exclusive(async () => { ran = true; }, 50), false);
    assert.equal(ran, false);
    assert.equal(await gate.read(async () => 'read'), 'read');
  });
});
