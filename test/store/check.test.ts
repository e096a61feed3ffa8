import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Level } from 'level';
import { AttestationStore } from '../../store/store.ts';
import { checkStore } from '../../store/check.ts';
import { readAttestation } from '../../protocol/attestation.ts';
import { envelopeBytes, hex64, policyOf, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sx } from '../helpers/cli.ts';
import { loadConfig } from '../../daemon/config.ts';

const keys = signers(3);
const [a, b, c] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]];
const policy = policyOf(2, keys);
const att = (by: typeof a | (typeof a)[], overrides = {}) => readAttestation(envelopeBytes(by, overrides), policy, 'test');

/** A store with plain, co-signed, engine-digest and OpenPGP entries; its path and the attestations in it. */
async function filledStore() {
  const path = join(tempDir(), 'db');
  const store = await AttestationStore.open(path);
  const plain = att(a);
  const cosigned = att([b, c], { image: 'core-gcc' });
  const engine = att(a, { image: 'core-make', engineDigest: hex64('engine make') });
  await store.putMany([plain, cosigned, engine]);
  await store.putOpenpgpVotes([{ image: 'core-gcc', digest: hex64('m'), fingerprint: 'ab'.repeat(20), file: hex64('f'), created: '2026-12-01T10:00:00.000Z' }]);
  return { path, store, plain, cosigned, engine };
}

/** Edits the raw LevelDB under a closed store, as a crash or a bug could leave it. */
async function tamper(path: string, edit: (db: { env: any; tally: any; key: any; pgp: any }) => Promise<void>): Promise<void> {
  const db = new Level<string, string>(path);
  await db.open();
  await edit({ env: db.sublevel('env', { valueEncoding: 'view' }), tally: db.sublevel('tally'), key: db.sublevel('key'), pgp: db.sublevel('pgp') });
  await db.close();
}

describe('store check', () => {
  it('finds a consistent store consistent and counts every entry', async () => {
    const { store } = await filledStore();
    const result = await checkStore(store);
    assert.deepEqual(result, { envelopes: 3, tallies: 3, votes: 4, keyEntries: 4, openpgpVotes: 1, problems: [] });
    await store.close();
  });

  it('reports an index pointing at a missing envelope, and an envelope no index counts', async () => {
    const { path, store, plain, cosigned } = await filledStore();
    await store.close();
    await tamper(path, async ({ env, tally, key }) => {
      await env.del(cosigned.hash);
      await tally.del(`${plain.votes[0]!.image} ${plain.votes[0]!.platform} ${plain.votes[0]!.inputDigest}`);
      await key.del(`${plain.votes[0]!.keyid} ${plain.hash}`);
    });
    const reopened = await AttestationStore.open(path);
    const { problems } = await checkStore(reopened);
    await reopened.close();
    const text = problems.map((p) => `${p.sublevel} ${p.key}: ${p.problem}`);
    assert.equal(text.filter((t) => t.includes(`points at envelope ${cosigned.hash}, which is not stored`)).length, 2, text.join('\n'));
    assert.ok(text.some((t) => t.startsWith(`env ${plain.hash}: stored envelope is counted in no tally`)), text.join('\n'));
    assert.equal(problems.length, 3, text.join('\n'));
  });

  it('reports a tally line without its key entry, a key entry that disagrees, bad bytes and a foreign OpenPGP value', async () => {
    const { path, store, plain, cosigned, engine } = await filledStore();
    await store.close();
    const [b1, c1] = cosigned.votes as [typeof cosigned.votes[0], typeof cosigned.votes[0]];
    await tamper(path, async ({ env, key, pgp }) => {
      await key.del(`${b1.keyid} ${cosigned.hash}`);
      await key.put(`${c1.keyid} ${cosigned.hash}`, `${c1.image} ${c1.platform} ${c1.inputDigest} ${hex64('other')}`);
      await env.put(engine.hash, new Uint8Array(Buffer.from('{"not":"an envelope"}')));
      await env.put(plain.hash, engine.bytes);
      await pgp.put('junk', 'x');
    });
    const reopened = await AttestationStore.open(path);
    const { problems } = await checkStore(reopened);
    await reopened.close();
    const text = problems.map((p) => `${p.sublevel} ${p.key}: ${p.problem}`).join('\n');
    assert.match(text, new RegExp(`tally ${b1.keyid} ${cosigned.hash}: vote line has no key index entry`));
    assert.match(text, new RegExp(`key ${c1.keyid} ${cosigned.hash}: key entry says .*, its tally line says`));
    assert.match(text, new RegExp(`env ${engine.hash}: stored bytes hash to [0-9a-f]{64}, not to their key`));
    assert.match(text, new RegExp(`env ${plain.hash}: stored bytes hash to ${engine.hash}`));
    assert.match(text, /pgp junk: expected "<image> <digest> <fingerprint> <file sha256>"/);
    assert.equal(problems.length, 5, text);
  });

  it('reports a vote whose envelope says another identity or digest, or was not signed by its key', async () => {
    const { path, store, plain } = await filledStore();
    await store.close();
    const v = plain.votes[0]!;
    const identity = `${v.image} ${v.platform} ${v.inputDigest}`;
    await tamper(path, async ({ tally, key }) => {
      await tally.put(identity, `${v.keyid} ${hex64('forged')} ${plain.hash}`);
      await key.put(`${v.keyid} ${plain.hash}`, `${identity} ${hex64('forged')}`);
      await tally.put(`core-x linux/amd64 ${v.inputDigest}`, `${b.keyid} ${v.digest} ${plain.hash}`);
      await key.put(`${b.keyid} ${plain.hash}`, `core-x linux/amd64 ${v.inputDigest} ${v.digest}`);
    });
    const reopened = await AttestationStore.open(path);
    const { problems } = await checkStore(reopened);
    await reopened.close();
    const text = problems.map((p) => `${p.sublevel} ${p.key}: ${p.problem}`).join('\n');
    assert.match(text, new RegExp(`vote for digest ${hex64('forged')}, the envelope's statement says ${v.digest}`));
    assert.match(text, new RegExp(`tally ${b.keyid} ${plain.hash}: vote of a key that did not sign the envelope`));
    assert.match(text, new RegExp(`vote for core-x linux/amd64 ${v.inputDigest}, the envelope's statement is for ${identity}`));
    assert.equal(problems.length, 3, text);
  });

  it('reports a key entry with no tally line, pointing at no stored envelope', async () => {
    const { path, store, plain } = await filledStore();
    await store.close();
    const v = plain.votes[0]!;
    const ghost = hex64('ghost envelope');
    await tamper(path, async ({ key }) => key.put(`${v.keyid} ${ghost}`, `${v.image} ${v.platform} ${v.inputDigest} ${v.digest}`));
    const reopened = await AttestationStore.open(path);
    const { problems } = await checkStore(reopened);
    await reopened.close();
    assert.deepEqual(problems.map((p) => `${p.sublevel} ${p.key}: ${p.problem}`), [
      `key ${v.keyid} ${ghost}: key entry has no vote line in the tally of ${v.image} ${v.platform} ${v.inputDigest}`,
      `key ${v.keyid} ${ghost}: points at envelope ${ghost}, which is not stored`,
    ]);
  });

  it('opens no store where there is none when told not to create one', async () => {
    const path = join(tempDir(), 'absent');
    await assert.rejects(AttestationStore.open(path, { createIfMissing: false }), (e: Error & { code?: string }) => e.code === 'STORE_OPEN_FAILED' && /no store there/.test(e.message));
  });

  it('`stagex-node store check` on a stopped node: exit 0 clean, 1 with each problem printed, 3 with no store', async () => {
    const init = await sx('init', join(tempDir(), 'node'), '--name', 'checker', '--network-id', 'test', '--json');
    assert.equal(init.code, 0, init.err);
    const { config } = JSON.parse(init.out) as { config: string };
    const path = (await loadConfig(config)).store;
    const absent = await sx('-c', config, 'store', 'check');
    assert.equal(absent.code, 3);
    assert.match(absent.err, /STORE_OPEN_FAILED|cannot open LevelDB .*no store there/);
    const store = await AttestationStore.open(path);
    const plain = att(a);
    await store.put(plain);
    await store.close();
    const clean = await sx('-c', config, 'store', 'check');
    assert.equal(clean.code, 0, clean.err);
    assert.match(clean.out, /1 envelopes, 1 tallies \(1 votes\), 1 key entries, 0 OpenPGP votes: consistent/);
    await tamper(path, async ({ env }) => env.del(plain.hash));
    const broken = await sx('-c', config, 'store', 'check', '--json');
    assert.equal(broken.code, 1);
    const result = JSON.parse(broken.out) as { envelopes: number; problems: { sublevel: string; key: string; problem: string }[] };
    assert.equal(result.envelopes, 0);
    assert.deepEqual(result.problems.map((p) => p.problem), [`points at envelope ${plain.hash}, which is not stored`]);
  });
});
