/**
 * Config reload in running daemons (separate processes, real libp2p and LevelDB): trusting a
 * key, revoking one and raising M on SIGHUP (or `stagex-node reload`) change every verdict
 * without a restart, on every node alike; an invalid file changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { callApi, type LocalApi } from '../../daemon/client.ts';
import { cli, editConfig, logged, makeCluster, memberApi, reloadMember, startMember, status, stopMember, until, type Member } from '../../scripts/local-network.ts';
import { hex64 } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const IMAGE = 'core-reload';
const DIGEST = hex64('core-reload good');

interface View { status: string; count: number; threshold: number; digest?: string }

describe('config reload on SIGHUP: 3 trusted daemons at 2 of 3 and one not yet trusted, fully connected', { timeout: 300_000 }, () => {
  let members: Member[] = [];
  let apis: LocalApi[] = [];
  let newcomer: Member;

  /** The daemon's verdict on IMAGE over its API (the token read at start stays valid while it runs). */
  const view = async (i: number): Promise<View | undefined> => {
    const reply = await callApi(apis[i]!, 'GET', `/query?image=${IMAGE}`);
    assert.equal(reply?.status, 200, reply?.body);
    const verdict = JSON.parse(reply!.body).verdicts[0];
    return verdict && { status: verdict.status, count: verdict.count, threshold: verdict.threshold, ...(verdict.digest ? { digest: verdict.digest } : {}) };
  };
  const views = () => Promise.all(members.map((_, i) => view(i)));
  /** `stagex-node verify` exit codes: 0 trusted, 1 pending. */
  const verifyCodes = () => Promise.all(members.map(async (m) => (await cli('-c', m.config, 'verify', `${IMAGE}@sha256:${DIGEST}`)).code));
  /** Every daemon gives the same verdict, and it is `expected`. */
  const allAgree = async (expected: View) => {
    for (const [i, v] of (await views()).entries()) assert.deepEqual(v, expected, `${members[i]!.name}'s verdict`);
  };
  const attest = async (member: Member) => {
    const result = await cli('-c', member.config, 'attest', '--image', IMAGE, '--input-digest', hex64(`input ${IMAGE}`), '--digest', DIGEST);
    assert.equal(result.code, 0, result.err);
  };
  const reloadAll = async () => {
    const outcomes = await Promise.all(members.map((m) => reloadMember(m)));
    for (const [i, o] of outcomes.entries()) assert.equal(o.event, 'config.reloaded', `${members[i]!.name}: ${JSON.stringify(o)}`);
    return outcomes;
  };

  before(async () => {
    const everyOther = (i: number, n: number) => Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    members = await makeCluster(tempDir('stagex-reload'), ['r0', 'r1', 'r2'], 2, { untrusted: ['r3'], networkId: 'reload', bootstrapOf: everyOther });
    newcomer = members[3]!;
    // The newcomer dials every trusted member too (makeCluster gave it one).
    await editConfig(newcomer, (json) => {
      json.network.bootstrap = members.slice(0, 3).map((m) => `/ip4/127.0.0.1/tcp/${m.p2pPort}/p2p/${m.peerId}`);
    });
    members.forEach((m) => startMember(m));
    await until('every daemon answers with all 3 peers', async () => (await Promise.all(members.map(status))).every((s) => s && s.peers >= 3), 60_000);
    apis = await Promise.all(members.map(memberApi));
  });

  after(async () => {
    await Promise.all(members.map((m) => stopMember(m)));
  });

  it('a key trusted on SIGHUP: its vote, refused when it came, is fetched and counts (pending -> trusted)', async () => {
    await attest(members[0]!);
    await attest(newcomer);
    await until('every daemon has r0\'s vote: pending 1 of 2', async () => (await views()).every((v) => v?.status === 'pending' && v.count === 1), 60_000);
    assert.deepEqual(await verifyCodes(), [1, 1, 1, 1]);

    // r0 and r1 by `stagex-node trust add`, which has the running daemon reload; r2 and r3 by hand and SIGHUP.
    for (const m of members.slice(0, 2)) {
      const added = await cli('-c', m.config, 'trust', 'add', 'r3', newcomer.publicKey);
      assert.equal(added.code, 0, added.err);
      assert.match(added.out, /the running daemon applied it: threshold 2 of 4 signers/);
      // The log line is written before the answer, but comes through another pipe.
      await until(`${m.name} logged config.reloaded with r3 added`, () => logged(m, 'config.reloaded').some((e) => e.trust.added.includes('r3')));
    }
    for (const m of members.slice(2)) await editConfig(m, (json) => json.trust.keys.push({ name: 'r3', publicKey: newcomer.publicKey }));
    for (const m of members.slice(2)) {
      const outcome = await reloadMember(m);
      assert.equal(outcome.event, 'config.reloaded', JSON.stringify(outcome));
      assert.deepEqual(outcome.trust.added, ['r3']);
    }
    // r3's envelope was not stored by its peers (unknown signer): the sync round the reload starts fetches it.
    await until('every daemon trusts the image: r0 and r3', async () => (await verifyCodes()).every((c) => c === 0), 90_000);
    await allAgree({ status: 'trusted', count: 2, threshold: 2, digest: DIGEST });
    for (const s of await Promise.all(members.map(status))) assert.equal(s.store.verdicts.trusted, 1);
  });

  it('a key revoked on SIGHUP no longer counts, at once (trusted -> pending)', async () => {
    for (const m of members) await editConfig(m, (json) => { json.trust.revoked = [newcomer.publicKey]; });
    for (const outcome of await reloadAll()) assert.deepEqual(outcome.trust.revoked, [newcomer.publicKey]);
    // The reload is done when it is logged: the next answer follows the new policy.
    await allAgree({ status: 'pending', count: 1, threshold: 2 });
    assert.deepEqual(await verifyCodes(), [1, 1, 1, 1]);
    for (const s of await Promise.all(members.map(status))) assert.deepEqual(s.store.verdicts, { trusted: 0, pending: 1, conflict: 0 });
  });

  it('M raised by `stagex-node reload` (trusted -> pending)', async () => {
    await attest(members[1]!);
    await until('every daemon trusts the image: r0 and r1', async () => (await verifyCodes()).every((c) => c === 0), 60_000);
    for (const m of members) await editConfig(m, (json) => { json.trust.threshold = 3; });
    for (const m of members) {
      const result = await cli('-c', m.config, 'reload');
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /threshold 2 -> 3/);
    }
    await allAgree({ status: 'pending', count: 2, threshold: 3 });
    assert.deepEqual(await verifyCodes(), [1, 1, 1, 1]);
    for (const s of await Promise.all(members.map(status))) assert.deepEqual(s.trust, { threshold: 3, signers: 3 });
    for (const m of members) await until(`${m.name} logged config.reloaded with threshold 2 -> 3`, () => logged(m, 'config.reloaded').some((e) => e.trust.threshold?.to === 3));
  });

  it('an invalid config on SIGHUP changes nothing: logged where and why, the daemon still answers on the old policy', async () => {
    const target = members[0]!;
    const valid = await readFile(target.config, 'utf8');
    try {
      // zod refuses it: the field, the value and what was expected.
      await editConfig(target, (json) => { json.trust.threshold = 0; });
      const bad = await reloadMember(target);
      assert.equal(bad.event, 'config.reload_failed');
      assert.equal(bad.code, 'BAD_CONFIG');
      assert.match(bad.error, /trust\.threshold/);
      assert.match(bad.error, new RegExp(target.config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      assert.deepEqual(await view(0), { status: 'pending', count: 2, threshold: 3 });
      // Valid JSON for zod, but M above N: the trust policy refuses it.
      await editConfig(target, (json) => { json.trust.threshold = 5; });
      const above = await reloadMember(target);
      assert.equal(above.event, 'config.reload_failed');
      assert.match(above.error, /threshold: expected a whole number from 1 to 3/);
      // Not JSON at all.
      await writeFile(target.config, '{ "name": ');
      const garbage = await reloadMember(target);
      assert.equal(garbage.event, 'config.reload_failed');
      assert.match(garbage.error, /not valid JSON/);
      const s = await callApi(apis[0]!, 'GET', '/status');
      assert.equal(s?.status, 200);
      const answer = JSON.parse(s!.body);
      assert.ok(answer.peers >= 3);
      assert.deepEqual(answer.trust, { threshold: 3, signers: 3 });
      assert.equal(answer.reloads.failed, 3);
      assert.match((await callApi(apis[0]!, 'GET', '/metrics'))!.body, /stagex_config_reloads_total\{result="failed"\} 3/);
      await allAgree({ status: 'pending', count: 2, threshold: 3 });
    } finally {
      await writeFile(target.config, valid);
    }
    // Restored, it reloads again, and nothing reloadable changed.
    const again = await reloadMember(target);
    assert.equal(again.event, 'config.reloaded');
    assert.equal(again.changed, false);
  });

  it('a listen address changed on SIGHUP needs a restart: logged, and the node keeps its address', async () => {
    const target = members[1]!;
    const before = (await status(target)).addresses;
    await editConfig(target, (json) => { json.network.listen = ['/ip4/127.0.0.1/tcp/0']; });
    const outcome = await reloadMember(target);
    assert.equal(outcome.event, 'config.reloaded');
    assert.deepEqual(outcome.needsRestart, ['network.listen']);
    assert.ok(logged(target, 'config.needs_restart').some((e) => e.fields.includes('network.listen')));
    assert.deepEqual((await status(target)).addresses, before);
    await allAgree({ status: 'pending', count: 2, threshold: 3 });
  });
});
