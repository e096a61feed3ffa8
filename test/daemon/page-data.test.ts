/**
 * The status page's verdicts (daemon/page/data.ts): the builds the tree describes now and every
 * conflict or equivocation the status board keeps, read by identity, never by a scan of the store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readAttestation } from '../../protocol/attestation.ts';
import { AttestationStore } from '../../store/store.ts';
import { StatusBoard } from '../../daemon/status-board.ts';
import { pageVerdicts, type PageGraph } from '../../daemon/page/data.ts';
import { envelopeBytes, hex64, policyOf, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const keys = signers(3);
const policy = policyOf(2, keys);
/** Key `k` says image core-i<i> built to digest `d`, at input digest `input` (the tree's now, or an older one). */
const vote = (k: number, i: number, d: number, input = `in ${i}`) =>
  readAttestation(envelopeBytes(keys[k]!, { image: `core-i${i}`, inputDigest: hex64(input), digest: hex64(`out ${i} ${d}`) }), policy, 'test');
const node = (i: number) => ({ image: `core-i${i}`, stage: 'core', dependencies: [], inputs: { 'linux/amd64': hex64(`in ${i}`) } });

describe('pageVerdicts', () => {
  it('lists the tree\'s current builds and the board\'s conflicts, not older builds or images outside the tree', async () => {
    const store = await AttestationStore.open(join(tempDir('stagex-page-data'), 'db'));
    await store.putMany([
      vote(0, 0, 0), vote(1, 0, 0), // core-i0: trusted, in the tree
      vote(0, 0, 0, 'older input'), // core-i0 at an older input: not listed
      vote(0, 1, 0), // core-i1: pending, in the tree
      vote(0, 2, 0), vote(1, 2, 1), // core-i2: a conflict, outside the tree: listed
      vote(2, 3, 0), // core-i3: pending, outside the tree: not listed
    ]);
    const board = await StatusBoard.open(store, policy);
    try {
      const graph: PageGraph = { tree: 'test', nodes: [node(0), node(1), node(9)], errors: [] };
      const { verdicts, problems } = await pageVerdicts(store, policy, graph, await board.notable());
      assert.equal(problems, 0);
      assert.deepEqual(verdicts.map((v) => [v.image, v.inputDigest, v.status]).sort(), [
        ['core-i0', hex64('in 0'), 'trusted'],
        ['core-i1', hex64('in 1'), 'pending'],
        ['core-i2', hex64('in 2'), 'conflict'],
      ]);
      assert.deepEqual(verdicts.find((v) => v.image === 'core-i0')!.digests[0]!.signers, ['k0', 'k1']);
    } finally {
      board.close();
      await store.close();
    }
  });
});
