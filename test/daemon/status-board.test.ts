import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { readAttestation } from '../../protocol/attestation.ts';
import { keyName } from '../../protocol/trust.ts';
import { AttestationStore } from '../../store/store.ts';
import { verdictsFor } from '../../store/queries.ts';
import { StatusBoard, type StoreStatus, type VerdictChange } from '../../daemon/status-board.ts';
import type { Verdict } from '../../protocol/threshold.ts';
import { envelopeBytes, hex64, policyOf, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const keys = signers(4);
const policy = policyOf(2, keys);

/** The answer computed from every vote of the store: what `/status` did before the board. */
async function fromScratch(store: AttestationStore): Promise<Omit<StoreStatus, 'envelopes'>> {
  const { verdicts } = await verdictsFor(store, policy);
  const count = (status: string) => verdicts.filter((v) => v.status === status).length;
  return {
    identities: verdicts.length,
    verdicts: { trusted: count('trusted'), pending: count('pending'), conflict: count('conflict') },
    equivocating: [...new Set(verdicts.flatMap((v) => v.equivocating.map((e) => keyName(policy, e.keyid))))].sort(),
    conflicts: verdicts.filter((v) => v.status === 'conflict').map((v) => ({ ...v.identity, digests: v.digests.map((d) => ({ digest: d.digest, signers: d.keyids.map((k) => keyName(policy, k)) })) })),
  };
}

/** A vote: key `k` says image `i` (of a few) built to digest `d` (of a few). */
const vote = ([k, i, d]: [number, number, number]) =>
  readAttestation(envelopeBytes(keys[k]!, { image: `core-i${i}`, inputDigest: hex64(`in ${i}`), digest: hex64(`out ${i} ${d}`) }), policy, 'test');

async function board(store: AttestationStore): Promise<Omit<StoreStatus, 'envelopes'>> {
  const b = await StatusBoard.open(store, policy);
  const { envelopes: _, ...status } = await b.status(0);
  b.close();
  return status;
}

describe('StatusBoard: verdict counts kept as envelopes arrive', () => {
  it('agrees with the verdicts computed from every vote, for any writes, and for a board opened afterwards', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(3), fc.nat(4), fc.nat(2)), { maxLength: 30 }),
      fc.array(fc.tuple(fc.nat(3), fc.nat(4), fc.nat(2)), { maxLength: 30 }),
      async (first, second) => {
        const store = await AttestationStore.open(join(tempDir(), 'db'));
        try {
          await store.putMany(first.map(vote));
          const live = await StatusBoard.open(store, policy);
          // Written while the first pass may still run, one write at a time (each its own change).
          await Promise.all(second.map((v) => store.putMany([vote(v)])));
          const { envelopes: _, ...counted } = await live.status(0);
          live.close();
          const expected = await fromScratch(store);
          assert.deepEqual(counted, expected);
          assert.deepEqual(await board(store), expected, 'a board opened on the same store');
        } finally {
          await store.close();
        }
      }), { seed: 61206, numRuns: 40 });
  });

  it('tells its listener each write\'s verdicts before and after, ending where the store ends', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(3), fc.nat(4), fc.nat(2)), { maxLength: 10 }),
      fc.array(fc.array(fc.tuple(fc.nat(3), fc.nat(4), fc.nat(2)), { minLength: 1, maxLength: 4 }), { maxLength: 12 }),
      async (first, writes) => {
        const store = await AttestationStore.open(join(tempDir(), 'db'));
        try {
          await store.putMany(first.map(vote));
          const key = (v: Verdict) => `${v.identity.image} ${v.identity.platform} ${v.identity.inputDigest}`;
          const last = new Map((await verdictsFor(store, policy)).verdicts.map((v) => [key(v), v]));
          const heard: VerdictChange[][] = [];
          const live = await StatusBoard.open(store, policy, (changes) => heard.push([...changes]));
          for (const batch of writes) await store.putMany(batch.map(vote));
          await live.ready;
          live.close();
          for (const changes of heard) {
            for (const { before, after } of changes) {
              assert.deepEqual(before, last.get(key(after)), 'before is what the last write left');
              last.set(key(after), after);
            }
          }
          assert.deepEqual([...last.values()].sort((a, b) => key(a).localeCompare(key(b))), (await verdictsFor(store, policy)).verdicts.sort((a, b) => key(a).localeCompare(key(b))));
        } finally {
          await store.close();
        }
      }), { seed: 61206, numRuns: 30 });
  });

  it('reports conflicts with who said what and equivocating keys by name', async () => {
    const store = await AttestationStore.open(join(tempDir(), 'db'));
    await store.putMany([vote([0, 1, 0]), vote([1, 1, 0]), vote([2, 1, 1]), vote([3, 2, 0]), vote([3, 2, 1])]);
    const status = await board(store);
    assert.deepEqual(status.verdicts, { trusted: 0, pending: 1, conflict: 1 });
    assert.deepEqual(status.equivocating, ['k3']);
    assert.deepEqual(status.conflicts[0]!.digests.map((d) => d.signers), [['k0', 'k1'], ['k2']]);
    await store.close();
  });
});
