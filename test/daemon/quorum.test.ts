/**
 * Seven reproducers at threshold 4 under attack (DESIGN sections 4 to 6), as separate daemons on
 * 127.0.0.1: four honest keys, three colluding ones, plus a revoked key and an outsider (keys
 * only, no daemon). Every check first waits until each node has seen the envelopes in question
 * (stored them, or refused them on import), then reads its verdicts: nothing is concluded from
 * quiet after a sleep.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, makeCluster, startMember, status, stopMember, until, type Member } from '../../scripts/local-network.ts';
import { loadContext } from '../../daemon/context.ts';
import { onlineSigner } from '../../daemon/signer/load.ts';
import { signAttestation, statementPayload } from '../../daemon/attest.ts';
import { sha256Hex } from '../../protocol/encoding.ts';
import type { Verdict } from '../../protocol/threshold.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hex64 } from '../helpers/fixtures.ts';

const HONEST = ['h0', 'h1', 'h2', 'h3'];
const COLLUDERS = ['c0', 'c1', 'c2'];
const REPRODUCERS = [...HONEST, ...COLLUDERS];
const THRESHOLD = 4;
/** Minutes, not seconds: seven daemons share two busy cores with other test runs. */
const CONVERGE_MS = 180_000;

const SPLIT = 'core-split';
const SYBIL = 'core-sybil';
const EQUIV = 'core-equiv';
const input = (image: string) => hex64(`input ${image}`);
const good = (image: string) => hex64(`${image} honest`);
const evil = (image: string) => hex64(`${image} colluding`);

const keyidOf = (member: Member) => sha256Hex(Buffer.from(member.publicKey, 'hex'));

describe('seven reproducers at threshold 4: three colluders, an equivocator, a revoked key, an outsider, replays', { timeout: 900_000 }, () => {
  const root = tempDir('stagex-quorum');
  const mail = join(root, 'mail');
  let members: Member[] = [];
  let nodes: Member[] = [];
  const by = (name: string) => members.find((m) => m.name === name)!;
  /** Envelope files written so far, for the replays. */
  const files: string[] = [];

  /** Signs a statement with a member's key file (its daemon, if any, is not asked). */
  async function sign(member: Member, image: string, digest: string, label: string, finishedOn = '2026-12-01T00:00:00.000Z'): Promise<string> {
    const context = await loadContext(member.config);
    const payload = statementPayload({
      image, package: image, version: '1.0', platform: 'linux/amd64', target: 'package', inputDigest: input(image), digest,
      sources: [], dependencies: [], builderId: `stagex-node:${member.name}`, startedOn: '2026-12-01T00:00:00.000Z', finishedOn,
    });
    const file = join(mail, `${member.name}-${image}-${label}.json`);
    await writeFile(file, await signAttestation(onlineSigner(context.signer, 'test'), payload));
    return file;
  }

  /** Attests through the member's own daemon, as an operator would, keeping the envelope file. */
  async function attest(member: Member, image: string, digest: string, label: string): Promise<void> {
    const file = join(mail, `${member.name}-${image}-${label}.json`);
    const result = await cli('-c', member.config, 'attest', '--image', image, '--input-digest', input(image), '--digest', digest, '--version', '1.0', '--out', file);
    assert.equal(result.code, 0, result.err);
    files.push(file);
  }

  /** Imports files into one node's running daemon: its outcome per file. */
  async function importTo(member: Member, ...paths: string[]): Promise<{ result: string; code?: string; hash?: string }[]> {
    const result = await cli('-c', member.config, 'import', ...paths, '--json');
    return JSON.parse(result.out).outcomes;
  }

  async function verdicts(member: Member, image?: string): Promise<Verdict[]> {
    const result = await cli('-c', member.config, 'query', ...(image ? ['--image', image] : []), '--json');
    assert.equal(result.code, 0, result.err);
    return JSON.parse(result.out).verdicts;
  }

  async function verify(member: Member, image: string, digest: string, json = false): Promise<{ code: number; out: string }> {
    return cli('-c', member.config, 'verify', `${image}@sha256:${digest}`, ...(json ? ['--json'] : []));
  }

  /** Waits until every node's verdict for `image` satisfies `check`. */
  async function everywhere(what: string, image: string, check: (v: Verdict | undefined) => boolean): Promise<void> {
    await until(`${what} on every node`, async () => (await Promise.all(nodes.map((m) => verdicts(m, image)))).every((vs) => vs.length <= 1 && check(vs[0])), CONVERGE_MS);
  }

  const keyidsOf = (names: string[]) => names.map((n) => keyidOf(by(n))).sort();

  before(async () => {
    await mkdir(mail);
    // Each reproducer dials the next two (a ring with chords); the revoked key and the outsider run no daemon.
    members = await makeCluster(root, [...REPRODUCERS, 'rv'], THRESHOLD, {
      revoked: ['rv'],
      untrusted: ['outsider'],
      bootstrapOf: (i) => (i < REPRODUCERS.length ? [(i + 1) % REPRODUCERS.length, (i + 2) % REPRODUCERS.length] : []),
    });
    nodes = REPRODUCERS.map(by);
    nodes.forEach((m) => startMember(m));
    await until('every daemon answers with two peers', async () => (await Promise.all(nodes.map(status))).every((s) => s && s.peers >= 2), CONVERGE_MS);
  });

  after(async () => {
    await Promise.all(nodes.map((m) => stopMember(m)));
  });

  it('four honest keys against three colluders: a conflict everywhere, D\' never trusted, evidence names who said what (exit 2)', async () => {
    for (const name of HONEST) await attest(by(name), SPLIT, good(SPLIT), 'vote');
    for (const name of COLLUDERS) await attest(by(name), SPLIT, evil(SPLIT), 'vote');
    await everywhere('all seven votes on core-split', SPLIT, (v) => v?.digests.reduce((n, d) => n + d.keyids.length, 0) === 7);
    for (const member of nodes) {
      const [v] = await verdicts(member, SPLIT);
      assert.equal(v!.status, 'conflict', member.name);
      assert.deepEqual(v!.digests.map((d) => [d.digest, d.keyids]), [[good(SPLIT), keyidsOf(HONEST)], [evil(SPLIT), keyidsOf(COLLUDERS)]], `${member.name}: query --json names the keys per digest`);
      for (const digest of [good(SPLIT), evil(SPLIT)]) {
        const text = await verify(member, SPLIT, digest);
        assert.equal(text.code, 2, `${member.name}: verify ${digest} exits 2 on a conflict\n${text.out}`);
        assert.match(text.out, new RegExp(`${good(SPLIT).slice(0, 12)} by h0, h1, h2, h3 vs ${evil(SPLIT).slice(0, 12)} by c0, c1, c2`));
        const json = await verify(member, SPLIT, digest, true);
        assert.equal(json.code, 2);
        const [entry] = JSON.parse(json.out).failing;
        assert.equal(entry.reason, 'conflict');
        assert.deepEqual(entry.evidence.map((d: { digest: string; keys: { signer: string; keyid: string }[] }) => [d.digest, d.keys.map((k) => k.signer).sort(), d.keys.map((k) => k.keyid).sort()]),
          [[good(SPLIT), HONEST, keyidsOf(HONEST)], [evil(SPLIT), COLLUDERS, keyidsOf(COLLUDERS)]], `${member.name}: verify --json evidence`);
      }
    }
    // /status is computed at most once a second: waited for, then read.
    const conflictOf = async (member: Member) => (await status(member)).store.conflicts.find((c: { image: string }) => c.image === SPLIT)?.digests.map((d: { signers: string[] }) => [...d.signers].sort());
    await until('every /status lists the conflict', async () => (await Promise.all(nodes.map(conflictOf))).every((c) => c !== undefined), CONVERGE_MS);
    for (const member of nodes) assert.deepEqual(await conflictOf(member), [HONEST, COLLUDERS], `${member.name}: /status names who said what`);
    await until('every daemon logged the conflict', () => nodes.every((m) => m.log.some((line) => line.includes('"event":"verdict.conflict"') && line.includes(SPLIT))), CONVERGE_MS);
  });

  it('the three colluders alone stay pending 3 of 4 everywhere (exit 1)', async () => {
    for (const name of COLLUDERS) await attest(by(name), SYBIL, evil(SYBIL), 'vote');
    await everywhere('three colluding votes on core-sybil', SYBIL, (v) => v?.count === 3);
    for (const member of nodes) {
      const [v] = await verdicts(member, SYBIL);
      assert.deepEqual([v!.status, v!.count, v!.threshold, v!.digests[0]!.keyids], ['pending', 3, 4, keyidsOf(COLLUDERS)], member.name);
      const text = await verify(member, SYBIL, evil(SYBIL));
      assert.equal(text.code, 1, text.out);
      assert.match(text.out, /pending: 3 of 4 signers/);
    }
  });

  it('an equivocating key reaches every node with both envelopes, is reported everywhere, and its votes are void', async () => {
    for (const name of HONEST) await attest(by(name), EQUIV, good(EQUIV), 'vote');
    await attest(by('c0'), EQUIV, good(EQUIV), 'vote');
    await attest(by('c0'), EQUIV, evil(EQUIV), 'second');
    // Void, c0's vote for the honest digest does not count (4 keys, not 5) and its other digest is no conflict.
    await everywhere('c0 equivocating on core-equiv, trusted by the four honest keys', EQUIV, (v) => v?.equivocating.length === 1 && v.status === 'trusted');
    for (const member of nodes) {
      const [v] = await verdicts(member, EQUIV);
      assert.deepEqual(v!.equivocating, [{ keyid: keyidOf(by('c0')), digests: [good(EQUIV), evil(EQUIV)].sort() }], member.name);
      assert.deepEqual([v!.digest, v!.count, v!.digests.map((d) => d.keyids)], [good(EQUIV), 4, [keyidsOf(HONEST)]], member.name);
      const text = await verify(member, EQUIV, good(EQUIV));
      assert.equal(text.code, 0, text.out);
      assert.match(text.out, /EQUIVOCATING \(votes void\): c0 signed/);
      const json = JSON.parse((await verify(member, EQUIV, evil(EQUIV), true)).out);
      assert.deepEqual(json.failing[0].equivocating.map((e: { signer: string; digests: string[] }) => [e.signer, e.digests]), [['c0', [good(EQUIV), evil(EQUIV)].sort()]]);
    }
    await until('every /status names c0 as equivocating', async () => (await Promise.all(nodes.map(status))).every((s) => s.store.equivocating.includes('c0')), CONVERGE_MS);
    await until('every daemon logged the equivocation', () => nodes.every((m) => m.log.some((line) => line.includes('"event":"verdict.equivocation"') && line.includes('"key":"c0"'))), CONVERGE_MS);
  });

  it('a revoked key, an outsider, replays, rebuilds and re-targeted envelopes change no verdict on any node', async () => {
    const before = await Promise.all(nodes.map((m) => verdicts(m)));
    // The revoked key signs the colluders' digest: stored and gossiped (its signature is checked), never counted.
    const revoked = await sign(by('rv'), SYBIL, evil(SYBIL), 'revoked');
    assert.equal((await importTo(nodes[0]!, revoked))[0]!.result, 'added');
    await until('every node stored the revoked key\'s envelope', async () => (await Promise.all(nodes.map((m) => cli('-c', m.config, 'query', '--key', 'rv', '--json')))).every((q) => JSON.parse(q.out).votes.length === 1), CONVERGE_MS);
    // The outsider's envelope is refused by every node, with no verification spent.
    const outsider = await sign(by('outsider'), SYBIL, evil(SYBIL), 'outsider');
    // Replays: every envelope so far again, a reformatted copy (same canonical form, same id),
    // a rebuild of a digest a key already signed, a third digest from the equivocator, and an
    // honest signature over a payload moved to another identity.
    const copy = join(mail, 'copy.json');
    const original = files.find((f) => f.includes(`c1-${SPLIT}`))!;
    await writeFile(copy, JSON.stringify(JSON.parse(await readFile(original, 'utf8')), null, 2));
    const rebuild = await sign(by('c1'), SYBIL, evil(SYBIL), 'rebuild', '2026-12-02T00:00:00.000Z');
    const third = await sign(by('c0'), EQUIV, hex64('core-equiv third'), 'third');
    const honest = JSON.parse(await readFile(files.find((f) => f.includes(`h0-${SPLIT}`))!, 'utf8'));
    const statement = JSON.parse(Buffer.from(honest.payload, 'base64').toString());
    statement.subject[0].name = `stagex/${SYBIL}`;
    statement.predicate.buildDefinition.externalParameters.inputDigest = input(SYBIL);
    const retargeted = join(mail, 'retargeted.json');
    await writeFile(retargeted, JSON.stringify({ ...honest, payload: Buffer.from(JSON.stringify(statement)).toString('base64') }));
    for (const member of nodes) {
      const outcomes = await importTo(member, outsider, ...files, copy, rebuild, third, retargeted);
      const results = outcomes.map((o) => o.code ?? o.result);
      assert.deepEqual(results, ['UNKNOWN_SIGNER', ...files.map(() => 'present'), 'present', 'KEY_ALREADY_VOTED', 'KEY_DIGEST_CAP', 'BAD_SIGNATURE'], `${member.name}: ${JSON.stringify(outcomes)}`);
      assert.equal(outcomes[files.length + 1]!.hash, outcomes[files.indexOf(original) + 1]!.hash, 'the copy is the same envelope');
    }
    const after = await Promise.all(nodes.map((m) => verdicts(m)));
    assert.deepEqual(after, before, 'every verdict on every node is as it was');
    for (const member of nodes) {
      assert.equal((await verify(member, SYBIL, evil(SYBIL))).code, 1, `${member.name}: core-sybil still pending`);
      assert.equal((await verify(member, SPLIT, evil(SPLIT))).code, 2, `${member.name}: core-split still in conflict`);
    }
    const trustedEvil = nodes.flatMap((m) => m.log.filter((line) => line.includes('"event":"verdict.trusted"') && [SPLIT, SYBIL, EQUIV].some((i) => line.includes(evil(i)))));
    assert.deepEqual(trustedEvil, [], 'no node ever logged a colluding digest as trusted');
  });
});
