/**
 * The issue's flood: one hostile peer (its own process, test/helpers/hostile-peer.ts) floods
 * five honest daemons (separate processes, threshold 3) for 30 s with every attack while the
 * honest nodes attest through the CLI. Gossip attacks run the whole time, sync attacks from
 * 15 s. Afterwards every honest node holds exactly the honest envelopes and the same verdicts,
 * every node cut the flooder off and refused its re-dials, and /health answered throughout.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callApi } from '../../daemon/client.ts';
import { cli, makeCluster, memberApi, startMember, status, stopMember, until, type Member } from '../../scripts/local-network.ts';
import { ATTACKS } from '../helpers/flooder-options.ts';
import { startFlooder, type Flooder } from '../helpers/flooder.ts';
import { hex64 } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4'];
const FLOOD_MS = 30_000;
const IMAGES = ['core-f0', 'core-f1', 'core-f2', 'core-f3', 'core-f4'];
/** Longest a /health call may take during the flood. */
const RESPONSIVE_MS = 5_000;

async function attest(member: Member, image: string, out?: string): Promise<string> {
  const result = await cli('-c', member.config, 'attest', '--image', image, '--input-digest', hex64(`input ${image}`), '--digest', hex64(`output ${image}`), '--json', ...(out ? ['--out', out] : []));
  assert.equal(result.code, 0, result.err);
  return JSON.parse(result.out).hash;
}

/** The hashes a member stores, from its API. */
async function storedHashes(member: Member): Promise<string[]> {
  const reply = await callApi(await memberApi(member), 'GET', '/envelopes');
  return reply!.body.split('\n').filter(Boolean).map((line) => JSON.parse(line).hash as string).sort();
}

/** Calls /health on every member every 500 ms until stopped; records the slowest answer and any failure. */
function watchHealth(members: Member[]): { stop: () => Promise<{ slowestMs: number; calls: number; failures: string[] }> } {
  let running = true;
  let slowestMs = 0;
  let calls = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      await Promise.all(members.map(async (m) => {
        const started = Date.now();
        try {
          const reply = await callApi(await memberApi(m), 'GET', '/health');
          if (reply?.status !== 200) failures.push(`${m.name}: status ${reply?.status}`);
        } catch (error) {
          failures.push(`${m.name}: ${(error as Error).message}`);
        }
        slowestMs = Math.max(slowestMs, Date.now() - started);
        calls += 1;
      }));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return { stop: async () => { running = false; await loop; return { slowestMs, calls, failures }; } };
}

describe('a hostile peer floods five honest daemons for 30 s with every attack (threshold 3 of 5)', { timeout: 400_000 }, () => {
  let members: Member[] = [];
  let flooder: Flooder | undefined;
  let root = '';

  before(async () => {
    root = tempDir('stagex-flood');
    members = await makeCluster(root, NAMES, 3, { bootstrapOf: (i, n) => [(i + 1) % n, (i + 2) % n] });
    members.forEach((m) => startMember(m));
    await until('every daemon has two peers', async () => (await Promise.all(members.map(status))).every((s) => s && s.peers >= 2), 60_000);
  });

  after(async () => {
    flooder?.process.kill('SIGKILL');
    await Promise.all(members.map((m) => stopMember(m)));
  });

  it('cuts the flooder off everywhere; honest envelopes and verdicts converge; nothing of the flooder is stored', async (t) => {
    const publicFile = join(root, 'public.json');
    const honest = new Set([await attest(members[0]!, 'core-public', publicFile)]);
    await until('the public attestation is everywhere', async () => (await Promise.all(members.map(status))).every((s) => s.store.envelopes >= 1), 60_000);

    flooder = startFlooder({
      networkId: 'test',
      targets: members.map((m) => `/ip4/127.0.0.1/tcp/${m.p2pPort}/p2p/${m.peerId}`),
      envelope: (await readFile(publicFile)).toString('base64'),
      attacks: [...ATTACKS],
      rate: 50,
      durationMs: FLOOD_MS,
      syncAfterMs: FLOOD_MS / 2,
    });
    const flooderId = await flooder.peerId;
    const health = watchHealth(members);

    // Three nodes attest each image, one image every few seconds through the flood.
    for (const [i, image] of IMAGES.entries()) {
      for (const m of [0, 1, 2].map((k) => members[(i + k) % members.length]!)) honest.add(await attest(m, image));
      await new Promise((r) => setTimeout(r, FLOOD_MS / IMAGES.length));
    }
    assert.equal(await flooder.exited, 0, flooder.stderr());
    const { slowestMs, calls, failures } = await health.stop();

    // Cut off: every node dropped and banned it, it saw each disconnect, and each node refused
    // its re-dials at the connection gater (read from the daemons' own logs).
    const logged = (m: Member, event: string) => m.log.findIndex((line) => line.includes(`"event":"${event}"`) && line.includes(flooderId));
    for (const m of members) {
      await until(`${m.name} logged dropping the flooder, then refusing it`, () => logged(m, 'sync.peer_dropped') >= 0 && m.log.slice(logged(m, 'sync.peer_dropped')).some((line) => line.includes('"event":"peer.refused"') && line.includes(flooderId)), 30_000);
      assert.ok(flooder.events.some((e) => e.event === 'disconnected' && e.peer === m.peerId), `${m.name} disconnected the flooder: ${JSON.stringify(flooder.events.filter((e) => e.peer === m.peerId))}`);
    }
    const sent = flooder.events.findLast((e) => e.event === 'done')!.sent!;
    t.diagnostic(`flooder sent ${JSON.stringify(sent)}; cut off after ${members.map((m) => flooder!.events.find((e) => e.event === 'disconnected' && e.peer === m.peerId)!.t).join(', ')} ms; slowest /health ${slowestMs} ms of ${calls}`);
    for (const attack of ['variants', 'keyless', 'badsig', 'unknown', 'oversize', 'garbage', 'sync-garbage']) assert.ok((sent[attack] ?? 0) > 0, `the flooder sent ${attack}: ${JSON.stringify(sent)}`);

    // Honest traffic converged, and nothing but the honest envelopes was stored anywhere.
    const expected = [...honest].sort();
    await until('every node stores exactly the honest envelopes', async () => (await Promise.all(members.map(storedHashes))).every((h) => JSON.stringify(h) === JSON.stringify(expected)), 120_000);
    for (const image of IMAGES) {
      for (const m of members) assert.equal((await cli('-c', m.config, 'verify', `${image}@sha256:${hex64(`output ${image}`)}`)).code, 0, `${m.name} trusts ${image}`);
    }
    for (const m of members) assert.equal((await status(m)).store.envelopes, expected.length, `${m.name} stores ${expected.length} envelopes`);

    // Responsive throughout.
    assert.deepEqual(failures, [], 'every /health call during the flood was answered');
    assert.ok(calls >= members.length * 10, `/health was asked ${calls} times`);
    assert.ok(slowestMs < RESPONSIVE_MS, `the slowest /health answer during the flood took ${slowestMs} ms`);
  });
});
