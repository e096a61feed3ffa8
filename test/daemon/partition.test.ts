/**
 * Partition and heal with 6 daemons (separate processes): two halves of 3 attest apart, each
 * reaching its own verdicts; healed by a bootstrap list naming the other half and SIGHUP, all 6
 * converge to the same verdicts. The convergence time is reported (bench/partition.ts
 * measures it over runs).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { callApi } from '../../daemon/client.ts';
import { ATTESTATIONS, attestAll, expectedView, heal, HALVES, startPartition, untilHalvesSettled, viewOf, type Partition } from '../../scripts/partition.ts';
import { status } from '../../scripts/local-network.ts';
import { tempDir } from '../helpers/tmp.ts';

const digest = (image: string, i = 0) => ATTESTATIONS.filter((a) => a.image === image)[i]!.digest;

describe('partition and heal: 6 daemons in two halves of 3, trusting all 6 at 3 of 6', { timeout: 400_000 }, () => {
  let partition: Partition;

  before(async () => {
    partition = await startPartition(tempDir('stagex-partition'));
  });

  after(async () => {
    await partition?.stop();
  });

  it('the oracle of the scenario says what the halves and the healed network decide', () => {
    assert.deepEqual(expectedView(HALVES[0]), {
      'core-a': { status: 'trusted', count: 3, digest: digest('core-a') },
      'core-both': { status: 'pending', count: 2 },
      'core-split': { status: 'trusted', count: 3, digest: digest('core-split', 0) },
    });
    assert.deepEqual(expectedView(HALVES[1]), {
      'core-b': { status: 'pending', count: 1 },
      'core-both': { status: 'pending', count: 1 },
      'core-split': { status: 'trusted', count: 3, digest: digest('core-split', 1) },
    });
    assert.deepEqual(expectedView(HALVES.flat()), {
      'core-a': { status: 'trusted', count: 3, digest: digest('core-a') },
      'core-b': { status: 'pending', count: 1 },
      'core-both': { status: 'trusted', count: 3, digest: digest('core-both') },
      'core-split': { status: 'conflict', count: 3 },
    });
  });

  it('apart, each half reaches its own verdicts, and is connected only within itself', async () => {
    await attestAll(partition);
    await untilHalvesSettled(partition);
    for (const [i, member] of partition.members.entries()) {
      assert.deepEqual(await viewOf(partition.apis[i]!), expectedView(partition.half(member)), `${member.name}'s verdicts`);
      const reply = await callApi(partition.apis[i]!, 'GET', '/peers');
      const half = partition.members.filter((m) => m !== member && partition.half(m) === partition.half(member)).map((m) => m.peerId);
      for (const peer of JSON.parse(reply!.body) as { peerId: string }[]) assert.ok(half.includes(peer.peerId), `${member.name} is connected to ${peer.peerId}, not of its half`);
    }
  });

  it('healed by the bootstrap lists and SIGHUP, every node converges to the same verdicts', async (t) => {
    const ms = await heal(partition);
    t.diagnostic(`heal -> converged: ${Math.round(ms)} ms`);
    const healed = expectedView(HALVES.flat());
    for (const [i, member] of partition.members.entries()) {
      assert.deepEqual(await viewOf(partition.apis[i]!), healed, `${member.name}'s verdicts`);
      const peers = JSON.parse((await callApi(partition.apis[i]!, 'GET', '/peers'))!.body) as { peerId: string }[];
      assert.equal(new Set(peers.map((p) => p.peerId)).size, 5, `${member.name} is connected to all 5 others`);
      assert.deepEqual((await status(member)).store.verdicts, { trusted: 2, pending: 1, conflict: 1 });
    }
  });
});
