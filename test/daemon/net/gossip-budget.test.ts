import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GOSSIP_BUDGET, GossipBudget } from '../../../daemon/net/gossip-budget.ts';

/** A budget on a clock the test moves. */
function clocked(limits: ConstructorParameters<typeof GossipBudget>[0] = {}) {
  const clock = { now: 0 };
  return { budget: new GossipBudget(limits, () => clock.now), clock };
}

describe('GossipBudget', () => {
  describe('take', () => {
    it('admits a burst of verifications, then refuses with no verification spent until the bucket refills', () => {
      const { budget, clock } = clocked({ verificationsPerSecond: 10, verificationBurst: 20 });
      const admitted = Array.from({ length: 25 }, () => budget.take('p', 100).admit);
      assert.equal(admitted.filter(Boolean).length, 20);
      assert.deepEqual(admitted.slice(20), [false, false, false, false, false]);
      assert.equal(budget.penalty('p'), 5);
      clock.now += 500;
      assert.equal(Array.from({ length: 10 }, () => budget.take('p', 100).admit).filter(Boolean).length, 5, '10/s refills 5 in 500 ms');
    });

    it('holds bytes per second apart from verifications', () => {
      const { budget, clock } = clocked({ bytesPerSecond: 1000, bytesBurst: 2000 });
      assert.equal(budget.take('p', 1500).admit, true);
      assert.equal(budget.take('p', 1000).admit, false);
      clock.now += 500;
      assert.equal(budget.take('p', 1000).admit, true);
    });

    it('charges each peer apart: one flooding does not spend another\'s budget', () => {
      const { budget } = clocked({ verificationBurst: 3 });
      for (let i = 0; i < 10; i++) budget.take('flooder', 1);
      assert.equal(budget.take('honest', 1).admit, true);
      assert.equal(budget.penalty('honest'), 0);
    });
  });

  describe('when a peer stays over budget', () => {
    it('says ban once the penalty passes banPenalty', () => {
      const { budget } = clocked({ verificationBurst: 1, banPenalty: 50 });
      budget.take('p', 1);
      const verdicts = Array.from({ length: 51 }, () => budget.take('p', 1));
      assert.equal(verdicts.findIndex((v) => v.ban), 50, 'the 51st message over budget passes 50');
    });
  });

  describe('reject', () => {
    it('says ban after repeated Rejects (3 at the defaults)', () => {
      const { budget } = clocked();
      const verdicts = Array.from({ length: 3 }, () => budget.reject('p').ban);
      assert.deepEqual(verdicts, [false, false, true]);
    });

    it('forgives slowly: the penalty halves every penaltyHalfLifeMs', () => {
      const { budget, clock } = clocked();
      budget.reject('p');
      budget.reject('p');
      clock.now += DEFAULT_GOSSIP_BUDGET.penaltyHalfLifeMs;
      assert.equal(budget.penalty('p'), 25);
      assert.equal(budget.reject('p').ban, false, '25 + 25 is not past 50');
    });
  });

  describe('at the defaults, with an honest 20-node network at 30 attestations/s', () => {
    it('never refuses a relay forwarding every message at the 64 KiB limit for 10 minutes', () => {
      const { budget, clock } = clocked();
      let refused = 0;
      for (let tick = 0; tick < 600 * 30; tick++) {
        clock.now = Math.floor((tick * 1000) / 30);
        if (!budget.take('relay', 64 * 1024).admit) refused += 1;
      }
      assert.equal(refused, 0);
      assert.equal(budget.penalty('relay'), 0);
    });
  });

  describe('forget', () => {
    it('drops a peer\'s account', () => {
      const { budget } = clocked();
      budget.reject('p');
      budget.forget('p');
      assert.equal(budget.peers, 0);
      assert.equal(budget.penalty('p'), 0);
    });
  });

  it('refuses a limit that is not a positive number', () => {
    assert.throws(() => new GossipBudget({ verificationsPerSecond: 0 }), /gossip budget verificationsPerSecond: expected a positive number, got 0/);
    assert.throws(() => new GossipBudget({ banPenalty: Number.NaN }), RangeError);
  });
});
