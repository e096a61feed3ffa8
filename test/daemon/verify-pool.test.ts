import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inlineVerifier, VerifyPool } from '../../daemon/verify-pool.ts';
import { compileTrust } from '../../protocol/trust.ts';
import { DaemonError } from '../../daemon/errors.ts';
import { envelopeBytes, hex64, reshaped, signer } from '../helpers/fixtures.ts';

const trust = { threshold: 1, keys: [{ name: 'k0', publicKey: signer(0).publicKey }] };
const crashing = new URL('../helpers/crashing-verify-worker.ts', import.meta.url);

describe('VerifyPool', () => {
  it('verifies a batch on a worker, results in input order', async () => {
    const pool = new VerifyPool(trust, 1);
    try {
      const [good, unknown] = await pool.verify([envelopeBytes(signer(0)), envelopeBytes(signer(9))], 'test');
      assert.ok(good && 'votes' in good);
      assert.ok(unknown && 'code' in unknown && unknown.code === 'UNKNOWN_SIGNER');
    } finally {
      await pool.close();
    }
  });

  it('splits a batch across its workers and answers as the inline pipeline does, in input order', async () => {
    // Refused (unknown signer, not JSON), re-encoded (extra field) and canonical envelopes mixed,
    // each a view into one larger buffer as a sync reply's are.
    const envelopes = Array.from({ length: 50 }, (_, i) => {
      const bytes = envelopeBytes(signer(i % 7 === 3 ? 9 : 0), { image: `core-p${i}`, inputDigest: hex64(`in ${i}`) });
      return i % 11 === 5 ? new TextEncoder().encode('not json') : i % 5 === 1 ? reshaped(bytes, (e) => ({ ...e, extra: i })) : bytes;
    });
    const frame = Buffer.concat(envelopes);
    let at = 0;
    const views = envelopes.map((e) => frame.subarray(at, (at += e.length)));
    const pool = new VerifyPool(trust, 2);
    try {
      const pooled = await pool.verify(views, 'batch');
      const inline = await inlineVerifier(compileTrust(trust))(envelopes, 'batch');
      assert.deepEqual(pooled.map((c) => ('votes' in c ? { ...c, bytes: Buffer.from(c.bytes) } : c)), inline.map((c) => ('votes' in c ? { ...c, bytes: Buffer.from(c.bytes) } : c)));
      assert.ok(pooled.filter((c) => 'votes' in c).length > 30 && pooled.some((c) => 'code' in c && c.code === 'UNKNOWN_SIGNER') && pooled.some((c) => 'code' in c && c.code === 'BAD_ENVELOPE'));
      assert.equal(frame.length, envelopes.reduce((n, e) => n + e.length, 0), 'the caller\'s buffer is not transferred away');
    } finally {
      await pool.close();
    }
  });

  describe('when a worker dies with a batch in hand', () => {
    it('rejects that batch with VERIFY_WORKER_FAILED and a new worker takes the next', async () => {
      const pool = new VerifyPool(trust, 1, crashing);
      try {
        await assert.rejects(pool.verify([envelopeBytes(signer(0))], 'crash'), (error: unknown) => error instanceof DaemonError && error.code === 'VERIFY_WORKER_FAILED');
        const [again] = await pool.verify([envelopeBytes(signer(0))], 'after the crash');
        assert.ok(again && 'votes' in again);
      } finally {
        await pool.close();
      }
    });
  });

  it('verifies batches sent after setTrust under the new policy, in running and in new workers', async () => {
    const pool = new VerifyPool(trust, 1);
    try {
      const [before] = await pool.verify([envelopeBytes(signer(1))], 'before');
      assert.ok(before && 'code' in before && before.code === 'UNKNOWN_SIGNER');
      pool.setTrust({ threshold: 1, keys: [{ name: 'k1', publicKey: signer(1).publicKey }] });
      const [trusted, dropped] = await pool.verify([envelopeBytes(signer(1)), envelopeBytes(signer(0))], 'after');
      assert.ok(trusted && 'votes' in trusted);
      assert.ok(dropped && 'code' in dropped && dropped.code === 'UNKNOWN_SIGNER');
    } finally {
      await pool.close();
    }
    const fresh = new VerifyPool(trust, 1);
    try {
      fresh.setTrust({ threshold: 1, keys: [{ name: 'k1', publicKey: signer(1).publicKey }] });
      const [first] = await fresh.verify([envelopeBytes(signer(1))], 'first batch of a worker started after setTrust');
      assert.ok(first && 'votes' in first);
    } finally {
      await fresh.close();
    }
  });

  it('refuses work once closed', async () => {
    const pool = new VerifyPool(trust, 1);
    await pool.close();
    await assert.rejects(pool.verify([envelopeBytes(signer(0))], 'late'), (error: unknown) => error instanceof DaemonError && error.code === 'VERIFY_WORKER_FAILED');
  });
});
