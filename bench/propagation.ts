/**
 * Propagation benchmark (issue 11: 20 daemons on loopback, 1,000 attestations published from
 * random daemons at 10 per second, and the same at 30/s): time from submitting an envelope to
 * one daemon's API until every daemon has stored it (p50 / p95 / p99 / max) and losses, per
 * topology seed, and the CPU time the daemons spend per message (utime + stime of every daemon
 * process over the run, divided by messages and daemons: a figure a busy machine changes far
 * less than latency) and their system calls and bytes per message (one it does not change). Each daemon dials 2 peers picked by a seeded PRNG (plus a ring, so the
 * graph is connected); every message is verified by every daemon. The daemons run at their
 * normal log level: a message counts as stored on a daemon when it logs `verdict.trusted` for
 * the message's image (threshold 1: its first vote). 10 s of warm-up messages (JIT, connections)
 * go first and are not counted.
 * Run: node bench/propagation.ts [daemons=20] [messages=1000] [rate=10] [seeds=1,2,3] [--force]
 *   [--profile=DIR]: daemon d0 runs with --cpu-prof into DIR (read with bench/propagation-profile.ts).
 */
import { join } from 'node:path';
import { callApi } from '../daemon/client.ts';
import { makeCluster, memberApi, startMember, status, stopMember, until } from '../scripts/local-network.ts';
import { envelopeBytes, hex64 } from '../test/helpers/fixtures.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createSeedSigner, decodePrivateKeyPem, type SeedSigner } from '../protocol/keys.ts';
import { readKeyFile } from '../daemon/keyfile.ts';
import { allStoredLatencies, clusterCpuMs, clusterIo, percentile, tailBreakdown, trustedFollower, type Io } from './propagation-latency.ts';
import { busy, quietMachine } from './quiet.ts';

const { mark } = quietMachine();
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [daemons = 20, messages = 1000, rate = 10] = positional.slice(0, 3).map(Number);
const seeds = (positional[3] ?? '1,2,3').split(',').map(Number);
const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.slice('--profile='.length);
/**
 * Warm-up: 10 s of messages at the measured rate (100 at 10/s, 300 at 30/s), not counted. A
 * cluster started cold builds a backlog over its first ~6 s of traffic while its 20 processes
 * still compile their hot paths on 2 cores: at 30/s, with 50 or 150 warm-up messages, every
 * message of the p99 was submitted 5-6 s after the traffic began, and no second after that had
 * a message past half the p99 (the tail line). The daemons run for days; this measures them warm.
 */
const WARMUP_SECONDS = 10;
const WARMUP = Math.round(WARMUP_SECONDS * rate);
/** How long after the last submission the run waits for every daemon to store every message. */
const DRAIN_MS = 15_000;

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

console.log(`${daemons} daemons, ${messages} messages at ${rate}/s after ${WARMUP} warm-up, seeds ${seeds.join(',')}${mark}`);
for (const seed of seeds) {
  const random = prng(seed);
  const bootstrapOf = (i: number, n: number) => [...new Set([(i + 1) % n, Math.floor(random() * n), Math.floor(random() * n)])];
  const members = await makeCluster(tempDir('stagex-prop'), Array.from({ length: daemons }, (_, i) => `d${i}`), 1, { networkId: 'prop', bootstrapOf });
  const signers: SeedSigner[] = await Promise.all(members.map(async (m) => createSeedSigner(decodePrivateKeyPem(await readKeyFile(join(m.dir, 'signing-key.pem')), m.name))));
  members.forEach((m, i) => {
    const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS };
    // With its settings given, the daemon does not re-execute itself (daemon/runtime-tuning.ts): the profiled process is the one that runs.
    if (i === 0 && profileDir) {
      process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profileDir} --max-semi-space-size=4 --expose-gc`;
    }
    startMember(m);
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  try {
    await until('every daemon has peers', async () => (await Promise.all(members.map(status))).every((s) => s?.peers >= 2), 120_000);
    const apis = await Promise.all(members.map(memberApi));
    // The daemons' own CPU, not the machine's: other work on it does not keep the run waiting.
    await until('the daemons settle after their starts (< half a core over 2 s)', async () => {
      const before = clusterCpuMs(members);
      await sleep(2000);
      return clusterCpuMs(members) - before < 1000;
    }, 120_000);
    const idleFrom = { cpu: clusterCpuMs(members), at: Date.now(), io: clusterIo(members) };
    const idleBusy = await busy(5000);
    const idleSeconds = (Date.now() - idleFrom.at) / 1000;
    const idleMsPerSecond = (clusterCpuMs(members) - idleFrom.cpu) / idleSeconds;
    const idleIo = clusterIo(members);
    /** Idle system calls or bytes per second, the cluster's. */
    const idleRate = (k: keyof Io) => (idleIo[k] - idleFrom.io[k]) / idleSeconds;
    console.log(`seed ${seed}: idle cluster uses ${Math.round(idleBusy * 100)} % of the CPUs; its daemons ${(idleMsPerSecond / daemons).toFixed(1)} ms CPU per second each`);
    /** Sync's counters summed over the daemons: envelopes sync brought in race gossip for the same work. */
    const syncTotals = async () => (await Promise.all(members.map(status))).reduce((t, s) => ({ rounds: t.rounds + (s?.sync.rounds ?? 0), received: t.received + (s?.sync.envelopesReceived ?? 0), added: t.added + (s?.sync.envelopesAdded ?? 0) }), { rounds: 0, received: 0, added: 0 });
    const syncBefore = await syncTotals();
    const follower = trustedFollower(members);
    const sent = new Map<string, number>();
    const failed: string[] = [];
    const start = Date.now();
    let counted = { cpu: 0, at: 0, io: clusterIo(members) };
    for (let i = -WARMUP; i < messages; i++) {
      const at = start + ((i + WARMUP) * 1000) / rate;
      await sleep(Math.max(0, at - Date.now()));
      if (i === 0) {
        follower.poll();
        counted = { cpu: clusterCpuMs(members), at: Date.now(), io: clusterIo(members) };
      }
      const from = Math.floor(random() * daemons);
      const image = `core-m${seed}x${i}`;
      const bytes = envelopeBytes(signers[from]!, { image, inputDigest: hex64(`in ${seed} ${i}`), digest: hex64(`out ${i}`) });
      if (i >= 0) sent.set(image, Date.now());
      callApi(apis[from]!, 'POST', '/envelopes', bytes).catch((error: Error) => {
        failed.push(`${members[from]!.name}: ${error.message}`);
      });
    }
    const expected = daemons * (messages + WARMUP);
    const deadline = Date.now() + DRAIN_MS;
    while (follower.poll() < expected && Date.now() < deadline) await sleep(100);
    const cpu = { ms: clusterCpuMs(members) - counted.cpu, wall: Date.now() - counted.at };
    const io = clusterIo(members);
    /** Per message per daemon, what the cluster would not have done idle over the same time. */
    const per = (k: keyof Io) => (io[k] - counted.io[k] - (idleRate(k) * cpu.wall) / 1000) / messages / daemons;
    const syncAfter = await syncTotals();
    const { latencies, lost } = allStoredLatencies(sent, follower.times, daemons);
    const crashed = members.filter((m) => m.process?.exitCode !== null).map((m) => m.name);
    if (failed.length || crashed.length) console.log(`seed ${seed}: ${failed.length} submissions failed (${failed.slice(0, 3).join('; ')}); daemons that exited: ${crashed.join(', ') || 'none'}`);
    if (process.env.SHOW_HOPS) for (const [image, at] of [...sent].slice(0, 5)) console.log((follower.times.get(image) ?? []).map((t) => t - at).sort((a, b) => a - b).join(' '));
    const perMessage = cpu.ms / messages / daemons;
    const overIdle = (cpu.ms - (idleMsPerSecond * cpu.wall) / 1000) / messages / daemons;
    console.log(`seed ${seed}: ${daemons} daemons, ${messages} messages at ${rate}/s: all-stored latency p50 ${percentile(latencies, 0.5)} ms, p95 ${percentile(latencies, 0.95)} ms, p99 ${percentile(latencies, 0.99)} ms, max ${latencies.at(-1)} ms; lost (daemon, message) pairs: ${lost}${mark}`);
    console.log(`seed ${seed}: tail: ${tailBreakdown(sent, follower.times, follower.by, percentile(latencies, 0.99), start + (WARMUP * 1000) / rate)}`);
    const released = members.flatMap((m) => m.log.filter((l) => l.includes('"store.tables_released"')).map((l) => ({ name: m.name, ...(JSON.parse(l) as { time: string; gc?: string; gcMs?: number }) })))
      .filter((e) => Date.parse(e.time) >= start).map((e) => `${e.name} s${Math.floor((Date.parse(e.time) - start) / 1000 - WARMUP_SECONDS)}${e.gc === 'last-resort' ? ` gc ${e.gcMs} ms` : ''}`);
    console.log(`seed ${seed}: tables released during the run (second of the counted run): ${released.join(', ') || 'none'}`);
    console.log(`seed ${seed}: per message per daemon ${per('writes').toFixed(1)} write and ${per('reads').toFixed(1)} read system calls, ${(per('bytesWritten') / 1024).toFixed(1)} KiB written, ${(per('bytesRead') / 1024).toFixed(1)} KiB read (over idle)`);
    console.log(`seed ${seed}: sync during the run: ${syncAfter.rounds - syncBefore.rounds} rounds, ${syncAfter.received - syncBefore.received} envelopes received, ${syncAfter.added - syncBefore.added} stored, of ${(messages + WARMUP) * daemons} stores with the warm-up`);
    console.log(`seed ${seed}: CPU per message per daemon ${perMessage.toFixed(2)} ms (${(overIdle).toFixed(2)} ms over idle; cluster ${Math.round(cpu.ms)} ms CPU in ${(cpu.wall / 1000).toFixed(1)} s)${mark}`);
  } finally {
    await Promise.all(members.map((m) => stopMember(m)));
  }
}
