/**
 * Flood benchmark (issue: "the honest nodes' p99 propagation with and without the flood is
 * recorded as a ratio"): the flood test's network (5 daemons, each dialling the next two,
 * threshold 3) measures propagation latency (submission to one daemon's API -> the last daemon
 * logged storing it, as bench/propagation.ts) for N attestations from random daemons at `rate`
 * per second, first quiet, then while the hostile peer (test/helpers/hostile-peer.ts) floods
 * every daemon with `attacks` at `floodRate`. Its sync attacks start halfway through the
 * flooded run (gossip attacks from before the first message), so about half the flooded
 * messages travel while it is still connected. Prints p50/p99 of each run and the p99 ratio.
 * The machine must be quiet: with a 1-minute load average above 0.5 the bench refuses, or with
 * --force runs and marks every figure.
 * Run: node bench/flood.ts [messages=500] [rate=10] [floodRate=50] [attacks=all|a,b,..] [--force]
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { callApi, type LocalApi } from '../daemon/client.ts';
import { readKeyFile } from '../daemon/keyfile.ts';
import { envelopeHash } from '../protocol/dsse.ts';
import { createSeedSigner, decodePrivateKeyPem, type SeedSigner } from '../protocol/keys.ts';
import { cli, makeCluster, memberApi, startMember, status, stopMember, until, type Member } from '../scripts/local-network.ts';
import { envelopeBytes, hex64 } from '../test/helpers/fixtures.ts';
import { ATTACKS, type Attack } from '../test/helpers/flooder-options.ts';
import { startFlooder } from '../test/helpers/flooder.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { allStoredLatencies, percentile, storedTimes } from './propagation-latency.ts';
import { quietMachine } from './quiet.ts';

const args = process.argv.slice(2).filter((a) => a !== '--force');
const [messages = 500, rate = 10, floodRate = 50] = args.slice(0, 3).map(Number);
const attacks = (!args[3] || args[3] === 'all' ? [...ATTACKS] : args[3].split(',')) as Attack[];
const unknown = attacks.filter((a) => !(ATTACKS as readonly string[]).includes(a));
if (unknown.length > 0) throw new Error(`bench/flood.ts: unknown attacks ${unknown.join(', ')}; expected some of ${ATTACKS.join(', ')}`);

const { mark } = quietMachine();

const WARMUP = 20;
const root = tempDir('stagex-flood-bench');
const members = await makeCluster(root, ['b0', 'b1', 'b2', 'b3', 'b4'], 3, { networkId: 'flood', bootstrapOf: (i, n) => [(i + 1) % n, (i + 2) % n] });
const signers: SeedSigner[] = await Promise.all(members.map(async (m) => createSeedSigner(decodePrivateKeyPem(await readKeyFile(join(m.dir, 'signing-key.pem')), m.name))));
members.forEach((m) => startMember(m, ['--log-level', 'debug']));

/**
 * Submits `count` attestations (plus `warmup` uncounted ones first) from random daemons at
 * `rate` per second and waits until every daemon stored them all (or 60 s passed): hash ->
 * submission time of the counted ones.
 */
let expected = 0;
async function run(label: string, apis: LocalApi[], count: number, warmup: number): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  const failed: string[] = [];
  const submitted: Promise<unknown>[] = [];
  const start = Date.now();
  for (let i = -warmup; i < count; i++) {
    await new Promise((r) => setTimeout(r, Math.max(0, start + ((i + warmup) * 1000) / rate - Date.now())));
    const from = Math.floor(Math.random() * members.length);
    const bytes = envelopeBytes(signers[from]!, { image: `core-${label}${i}`, inputDigest: hex64(`in ${label} ${i}`), digest: hex64(`out ${label} ${i}`) });
    if (i >= 0) sent.set(envelopeHash(bytes), Date.now());
    submitted.push(callApi(apis[from]!, 'POST', '/envelopes', bytes).catch((error: Error) => failed.push(`${members[from]!.name}: ${error.message}`)));
  }
  await Promise.all(submitted);
  expected += warmup + count - failed.length;
  await until(`${label}: every daemon stored all ${expected} envelopes`, async () => (await Promise.all(members.map(status))).every((s) => s.store.envelopes >= expected), 60_000).catch((error: Error) => console.log(error.message));
  if (failed.length > 0) console.log(`${label}: ${failed.length} submissions failed (${failed.slice(0, 3).join('; ')})`);
  return sent;
}

async function report(label: string, sent: Map<string, number>): Promise<number> {
  const { latencies, lost } = allStoredLatencies(sent, await storedTimes(members), members.length);
  const p99 = percentile(latencies, 0.99);
  console.log(`${label}: ${members.length} daemons, ${messages} messages at ${rate}/s: all-stored latency p50 ${percentile(latencies, 0.5)} ms, p99 ${p99} ms, max ${latencies.at(-1)} ms; lost (daemon, message) pairs: ${lost}${mark}`);
  return p99;
}

try {
  await until('every daemon has two peers', async () => (await Promise.all(members.map(status))).every((s) => s?.peers >= 2), 120_000);
  const apis = await Promise.all(members.map(memberApi));
  const quiet = await report('without flood', await run('quiet', apis, messages, WARMUP));

  const publicFile = join(root, 'public.json');
  const attested = await cli('-c', members[0]!.config, 'attest', '--image', 'core-public', '--input-digest', hex64('input core-public'), '--digest', hex64('output core-public'), '--out', publicFile);
  if (attested.code !== 0) throw new Error(attested.err);
  expected += 1;
  const floodMs = Math.ceil(((WARMUP + messages) * 1000) / rate);
  const flooder = startFlooder({
    networkId: 'flood',
    targets: members.map((m: Member) => `/ip4/127.0.0.1/tcp/${m.p2pPort}/p2p/${m.peerId}`),
    envelope: (await readFile(publicFile)).toString('base64'),
    attacks,
    rate: floodRate,
    durationMs: floodMs + 5_000,
    syncAfterMs: 5_000 + Math.ceil(floodMs / 2),
  });
  await flooder.peerId;
  await until('the flooder is connected to every daemon', () => members.every((m) => flooder.events.some((e) => e.event === 'connected' && e.peer === m.peerId)), 30_000);
  await new Promise((r) => setTimeout(r, 5_000)); // the gossip flood is under way before the first message
  const flooded = await report(`with flood (${attacks.join(',')} at ${floodRate}/s)`, await run('flood', apis, messages, WARMUP));
  const exit = await flooder.exited;
  const done = flooder.events.findLast((e) => e.event === 'done');
  const cutOff = members.filter((m) => m.log.some((line) => line.includes('"event":"sync.peer_dropped"')) || flooder.events.some((e) => e.event === 'disconnected' && e.peer === m.peerId)).map((m) => m.name);
  console.log(`flooder: exit ${exit}; sent ${JSON.stringify(done?.sent ?? {})}; disconnected by ${cutOff.join(', ') || 'nobody'}; still connected at the end to ${done?.connected?.length ?? '?'} daemons`);
  console.log(`p99 ratio (with flood / without): ${(flooded / quiet).toFixed(2)}${mark}`);
} finally {
  await Promise.all(members.map((m) => stopMember(m)));
}
