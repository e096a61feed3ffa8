/**
 * Partition and heal, for the test and the benchmark: 6 daemons (separate processes) in two
 * halves of 3 whose bootstrap lists name only their own half, trusting all 6 at 3 of 6. Each
 * half attests on its own (the same images, and different ones); healing adds the other half
 * to every bootstrap list and reloads the config (SIGHUP), and every node converges to the
 * same verdicts through sync.
 */
import { callApi, type LocalApi } from '../daemon/client.ts';
import { cli, editConfig, makeCluster, memberApi, reloadMember, startMember, status, stopMember, until, type Member } from './local-network.ts';
import { createHash } from 'node:crypto';

export const HALVES = [['a0', 'a1', 'a2'], ['b0', 'b1', 'b2']] as const;
export const THRESHOLD = 3;

const hex = (label: string) => createHash('sha256').update(label).digest('hex');

/**
 * Who attests what while the halves are apart:
 * - core-both: two of A and one of B: trusted only once votes from both halves meet;
 * - core-a: all of A: trusted in A alone, unknown to B until the heal;
 * - core-split: A and B each attest another digest: each half trusts its own (the split brain a
 *   partition allows), and a conflict everywhere once healed;
 * - core-b: one of B: pending everywhere.
 */
export const ATTESTATIONS = [
  { image: 'core-both', digest: hex('both'), by: ['a0', 'a1', 'b0'] },
  { image: 'core-a', digest: hex('a'), by: ['a0', 'a1', 'a2'] },
  { image: 'core-split', digest: hex('split a'), by: ['a0', 'a1', 'a2'] },
  { image: 'core-split', digest: hex('split b'), by: ['b0', 'b1', 'b2'] },
  { image: 'core-b', digest: hex('b'), by: ['b1'] },
] as const;

/** A node's verdicts, by image: status, k, and the trusted digest. */
export type View = Record<string, { status: string; count: number; digest?: string }>;

/** The verdicts the attestations above give with the votes of `names` only. */
export function expectedView(names: readonly string[]): View {
  const votes = new Map<string, Map<string, number>>();
  for (const a of ATTESTATIONS) {
    const n = a.by.filter((b) => names.includes(b)).length;
    if (n === 0) continue;
    const digests = votes.get(a.image) ?? new Map<string, number>();
    digests.set(a.digest, n);
    votes.set(a.image, digests);
  }
  const view: View = {};
  for (const [image, digests] of [...votes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const count = Math.max(...digests.values());
    if (digests.size > 1) view[image] = { status: 'conflict', count };
    else if (count >= THRESHOLD) view[image] = { status: 'trusted', count, digest: [...digests.keys()][0]! };
    else view[image] = { status: 'pending', count };
  }
  return view;
}

export interface Partition {
  members: Member[];
  apis: LocalApi[];
  half(member: Member): readonly string[];
  stop(): Promise<void>;
}

const address = (m: Member) => `/ip4/127.0.0.1/tcp/${m.p2pPort}/p2p/${m.peerId}`;

/**
 * Makes and starts the 6 daemons, each dialling its own half; resolves once each has its 2
 * peers. `args` go to every `stagex-node start` (e.g. --log-level debug).
 */
export async function startPartition(root: string, options: { networkId?: string; args?: string[] } = {}): Promise<Partition> {
  const names = HALVES.flat();
  const ownHalf = (i: number, n: number) => Array.from({ length: n }, (_, j) => j).filter((j) => j !== i && Math.floor(j / 3) === Math.floor(i / 3));
  const members = await makeCluster(root, names, THRESHOLD, { networkId: options.networkId ?? 'partition', bootstrapOf: ownHalf });
  members.forEach((m) => startMember(m, options.args));
  const stop = async () => {
    await Promise.all(members.map((m) => stopMember(m)));
  };
  try {
    await until('every daemon answers with the 2 peers of its half', async () => (await Promise.all(members.map(status))).every((s) => s && s.peers >= 2), 120_000);
    return { members, apis: await Promise.all(members.map(memberApi)), half: (m) => HALVES.find((h) => h.includes(m.name as never))!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Every attestation of ATTESTATIONS, each by its member's `stagex-node attest`. */
export async function attestAll(partition: Partition): Promise<void> {
  for (const a of ATTESTATIONS) {
    for (const name of a.by) {
      const member = partition.members.find((m) => m.name === name)!;
      const result = await cli('-c', member.config, 'attest', '--image', a.image, '--input-digest', hex(`input ${a.image}`), '--digest', a.digest);
      if (result.code !== 0) throw new Error(`${name} attest ${a.image}: ${result.err}`);
    }
  }
}

/** A node's verdicts over its API. */
export async function viewOf(api: LocalApi): Promise<View> {
  const reply = await callApi(api, 'GET', '/query');
  if (reply?.status !== 200) throw new Error(`GET /query: ${reply?.status} ${reply?.body}`);
  const view: View = {};
  for (const v of JSON.parse(reply.body).verdicts as { identity: { image: string }; status: string; count: number; digest?: string }[]) {
    view[v.identity.image] = { status: v.status, count: v.count, ...(v.digest ? { digest: v.digest } : {}) };
  }
  return view;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Waits until every node's verdicts are its half's (each half converged on its own). */
export async function untilHalvesSettled(partition: Partition, ms = 90_000): Promise<void> {
  await until('each half agrees on its own verdicts', async () => (await Promise.all(partition.apis.map(viewOf))).every((v, i) => same(v, expectedView(partition.half(partition.members[i]!)))), ms);
}

/**
 * Heals: adds the other half to every member's bootstrap list and reloads every config; then
 * waits until every node has the verdicts of all 6. Resolves with the milliseconds from the
 * first SIGHUP to convergence.
 */
export async function heal(partition: Partition, ms = 120_000): Promise<number> {
  const { members } = partition;
  for (const member of members) {
    await editConfig(member, (json) => {
      json.network.bootstrap = members.filter((m) => m !== member).map(address);
    });
  }
  const healed = expectedView(HALVES.flat());
  const start = performance.now();
  const outcomes = await Promise.all(members.map((m) => reloadMember(m)));
  const failed = outcomes.find((o) => o.event !== 'config.reloaded');
  if (failed) throw new Error(`a reload failed: ${JSON.stringify(failed)}`);
  await until('every node has the verdicts of all 6', async () => (await Promise.all(partition.apis.map(viewOf))).every((v) => same(v, healed)), ms);
  return performance.now() - start;
}
