/**
 * kill -9 during heavy ingest (issue "durability"): a real daemon takes envelopes through its
 * API from eight concurrent clients, and by gossip from a second daemon that takes a share of
 * them, and is SIGKILLed at seeded-random moments 50 times: one in five during start-up (0-1.5 s
 * after spawn), the others mid-ingest (after 1-30 acknowledged imports of the round, then
 * 0-200 ms). After each kill, before the restart: `stagex-node store check` finds the store
 * consistent, and every envelope whose import the API acknowledged (HTTP 200) is stored. At the
 * end the restarted daemon has caught up by sync with everything the other one stored.
 * CRASH_SEED and CRASH_ROUNDS override the seed (printed) and the 50 rounds.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { callApi, type LocalApi } from '../../daemon/client.ts';
import { AttestationStore } from '../../store/store.ts';
import { loadConfig } from '../../daemon/config.ts';
import { cli, health, makeCluster, memberApi, startMember, stopMember, until, type Member } from '../../scripts/local-network.ts';
import { envelopeBytes, hex64, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const SEED = Number(process.env.CRASH_SEED ?? 20261206);
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 50);
const CLIENTS = 8;
const keys = signers(4);


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Hashes present in a stopped member's store, of those asked. */
async function missingFrom(member: Member, hashes: Iterable<string>): Promise<string[]> {
  const wanted = [...hashes];
  const store = await AttestationStore.open((await loadConfig(member.config)).store);
  try {
    const bytes = await store.getMany(wanted);
    return wanted.filter((_, i) => bytes[i] === undefined);
  } finally {
    await store.close();
  }
}

async function storeCheck(member: Member): Promise<{ envelopes: number; problems: unknown[] }> {
  const result = await cli('-c', member.config, 'store', 'check', '--json');
  assert.equal(result.code, 0, `store check: ${result.out}${result.err}`);
  return JSON.parse(result.out);
}

/**
 * Eight clients posting fresh envelopes, one in four to `other` (whose gossip reaches the
 * victim); `acked` holds each hash a daemon answered 200 for. A daemon that is down is waited for.
 */
function load(apis: { victim?: LocalApi; other?: LocalApi }, acked: { victim: Set<string>; other: Set<string> }) {
  let next = 0;
  let stopped = false;
  const client = async () => {
    while (!stopped) {
      const i = next++;
      const target = i % 4 === 3 ? 'other' : 'victim';
      const api = apis[target];
      if (api === undefined) {
        await sleep(20);
        continue;
      }
      const bytes = envelopeBytes(keys[i % keys.length]!, { image: `core-crash${i}`, inputDigest: hex64(`crash in ${i}`), digest: hex64(`crash out ${i}`) });
      const reply = await callApi(api, 'POST', '/envelopes', bytes).catch(() => undefined);
      if (reply?.status === 200) acked[target].add((JSON.parse(reply.body) as { hash: string }).hash);
      else if (reply === undefined) await sleep(20);
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  return { stop: async () => { stopped = true; await Promise.all(clients); } };
}

describe(`kill -9 during heavy ingest, ${ROUNDS} times (seed ${SEED})`, { timeout: 900_000 }, () => {
  let victim: Member;
  let other: Member;

  before(async () => {
    [victim, other] = await makeCluster(tempDir('stagex-crash'), ['victim', 'other'], 2) as [Member, Member];
    for (const member of [victim, other]) {
      const json = JSON.parse(await readFile(member.config, 'utf8'));
      json.trust.keys.push(...keys.map((k, i) => ({ name: `client${i}`, publicKey: Buffer.from(k.publicKey).toString('hex') })));
      await writeFile(member.config, JSON.stringify(json, null, 2));
    }
    startMember(other, ['--no-build']);
    await until('the other daemon answers', async () => (await health(other)) !== undefined, 30_000);
  });

  after(async () => {
    await stopMember(victim, 'SIGKILL');
    await stopMember(other);
  });

  it('keeps the store consistent and every acknowledged envelope, and catches up after', async () => {
    const next = seededRandom(SEED);
    const acked = { victim: new Set<string>(), other: new Set<string>() };
    const apis: { victim?: LocalApi; other?: LocalApi } = { other: await memberApi(other) };
    const loader = load(apis, acked);
    const rounds: string[] = [];
    try {
      for (let round = 0; round < ROUNDS; round += 1) {
        const before = acked.victim.size;
        startMember(victim, ['--no-build']);
        const duringStart = next() < 0.2;
        if (duringStart) {
          await sleep(next() * 1500);
        } else {
          // Mid-ingest: once the victim acknowledged a random number of this round's imports
          // (a busy machine slows the daemon, not the moment's place in its ingest), then a bit more.
          await until(`the victim answers (round ${round})`, async () => (await health(victim)) !== undefined, 60_000);
          apis.victim = await memberApi(victim);
          const wanted = before + 1 + Math.floor(next() * 30);
          await until(`the victim acknowledges ${wanted - before} imports (round ${round})`, () => acked.victim.size >= wanted, 60_000);
          await sleep(next() * 200);
        }
        await stopMember(victim, 'SIGKILL');
        delete apis.victim;
        const missing = await missingFrom(victim, acked.victim);
        assert.deepEqual(missing, [], `round ${round}: acknowledged envelopes lost by kill -9`);
        const check = await storeCheck(victim);
        assert.deepEqual(check.problems, [], `round ${round}: store check`);
        rounds.push(`${round}:${duringStart ? 'start' : 'ingest'}:+${acked.victim.size - before}=${check.envelopes}`);
      }
    } finally {
      await loader.stop();
    }
    console.log(`crash rounds (round:moment:+acknowledged=stored) ${rounds.join(' ')}`);
    startMember(victim, ['--no-build']);
    await until('the victim answers and has caught up with the other by sync', async () => {
      const [mine, theirs] = await Promise.all([health(victim), health(other)]);
      return mine !== undefined && theirs !== undefined && mine.envelopes >= theirs.envelopes;
    }, 120_000);
    await stopMember(victim);
    assert.deepEqual(await missingFrom(victim, [...acked.victim, ...acked.other]), [], 'everything either daemon acknowledged is stored');
    assert.deepEqual((await storeCheck(victim)).problems, []);
  });
});
