import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importFiles, storeSubmit } from '../../daemon/ingest.ts';
import { AttestationStore } from '../../store/store.ts';
import { envelopeBytes, hex64, policyOf, reshaped, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const keys = signers(2);
const policy = policyOf(2, keys);

describe('importFiles into the store', () => {
  it('stores the canonical form once, refuses a keyless signature and a key past its cap with their codes', async () => {
    const dir = tempDir('stagex-import');
    const store = await AttestationStore.open(join(dir, 'db'));
    const by = (digest: string) => envelopeBytes(keys[0]!, { digest: hex64(digest) });
    const files: [string, Uint8Array][] = [
      ['1-one.json', by('one')],
      ['2-one-reshaped.json', reshaped(by('one'), (e) => ({ ...e, note: 'x', signatures: [...e.signatures, ...e.signatures] }))],
      ['3-keyless.json', reshaped(by('one'), (e) => ({ ...e, signatures: [{ sig: e.signatures[0]!.sig }] }))],
      ['4-two.json', by('two')],
      ['5-three.json', by('three')],
    ];
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
    const outcomes = await importFiles(files.map(([name]) => join(dir, name)), storeSubmit(store, policy));
    assert.deepEqual(outcomes.map((o) => (o.result === 'error' ? o.code : o.result)), ['added', 'present', 'MISSING_KEYID', 'added', 'KEY_DIGEST_CAP']);
    assert.equal(await store.count(), 2);
    await store.close();
  });
});
