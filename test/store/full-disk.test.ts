/**
 * The store on a full disk, without a daemon: a write refused for lack of space leaves a torn
 * record at the end of LevelDB's log, and a write appended behind it would be acknowledged and
 * then dropped when the log is replayed. The store reopens before it writes again, so every
 * write acknowledged after space returns survives a close and reopen. Needs root to mount an
 * 8 MiB tmpfs; skipped, saying why, elsewhere.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readAttestation } from '../../protocol/attestation.ts';
import { AttestationStore, type WriteHealth } from '../../store/store.ts';
import { checkStore } from '../../store/check.ts';
import { envelopeBytes, hex64, policyOf, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const keys = signers(2);
const policy = policyOf(1, keys);
const att = (i: number) => readAttestation(envelopeBytes(keys[i % 2]!, { image: `core-disk${i}`, inputDigest: hex64(`disk in ${i}`), digest: hex64(`disk out ${i}`) }), policy, 'test');

describe('the store on a full disk', () => {
  const disk = join(tempDir('stagex-store-full'), 'disk');
  let unmountable: string | undefined;
  /** Stores left open by a failing assertion, closed before the unmount. */
  const open: AttestationStore[] = [];

  before(() => {
    mkdirSync(disk);
    if (process.getuid?.() !== 0) unmountable = 'mounting a tmpfs needs root';
    else {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk], { stdio: 'pipe' });
      } catch (error) {
        unmountable = `mount -t tmpfs is not permitted here (${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim()})`;
      }
    }
  });

  after(async () => {
    if (unmountable) return;
    await Promise.all(open.map((s) => s.close().catch(() => undefined)));
    execFileSync('umount', [disk]);
  });

  it('refuses writes STORE_FULL, reads on, and keeps every write acknowledged once space returns', async (t) => {
    if (unmountable) return t.skip(unmountable);
    await writeFile(join(disk, 'filler'), Buffer.alloc(6 * 1024 * 1024));
    const path = join(disk, 'store');
    const store = await AttestationStore.open(path);
    open.push(store);
    const health: WriteHealth['event'][] = [];
    store.onWriteHealth((change) => health.push(change.event));
    const acked: string[] = [];
    let i = 0;
    let refusal: Error & { code?: string } | undefined;
    while (refusal === undefined) {
      assert.ok(i < 20_000, 'expected the disk to fill');
      const a = att(i++);
      await store.put(a).then(() => acked.push(a.hash), (error: Error) => { refusal = error; });
    }
    assert.equal(refusal.code, 'STORE_FULL');
    assert.match(refusal.message, /1 envelope\(s\) not stored: the disk is full \(.*No space left on device\)/);
    await assert.rejects(store.put(att(i++)), (e: Error & { code?: string }) => e.code === 'STORE_FULL' && /bytes free, expected at least/.test(e.message));
    assert.equal(await store.count(), acked.length, 'reads go on');
    assert.deepEqual((await checkStore(store)).problems, []);

    await rm(join(disk, 'filler'));
    for (let n = 0; n < 50; n += 1) {
      const a = att(i++);
      assert.equal(await store.put(a), 'added');
      acked.push(a.hash);
    }
    await store.close();
    const reopened = await AttestationStore.open(path);
    open.push(reopened);
    const bytes = await reopened.getMany(acked);
    assert.deepEqual(acked.filter((_, n) => bytes[n] === undefined), [], 'every acknowledged write survives the log replay');
    assert.deepEqual(health, ['write_failed', 'reopened']);
    assert.deepEqual((await checkStore(reopened)).problems, []);
    await reopened.close();
  });
});
