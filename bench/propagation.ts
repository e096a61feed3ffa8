/**
 * Propagation benchmark (issue: 20 daemons on loopback, 1,000 attestations published from
 * random daemons at 10 per second): time from submitting an envelope to one daemon's API
 * until every daemon has stored it (p50 / p95 / p99) and losses, per topology seed. Each
 * daemon dials 2 peers picked by a seeded PRNG (plus a ring, so the graph is connected);
 * every message is verified by every daemon. 50 warm-up messages (JIT, connections) go first
 * and are not counted.
 * Run: node bench/propagation.ts [daemons=20] [messages=1000] [rate=10] [seeds=1,2,3]
 */
import { join } from 'node:path';
import { callApi } from '../daemon/client.ts';
import { makeCluster, memberApi, startMember, status, stopMember, until } from '../scripts/local-network.ts';
import { envelopeBytes, hex64 } from '../test/helpers/fixtures.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createSeedSigner, decodePrivateKeyPem, type SeedSigner } from '../protocol/keys.ts';
import { readKeyFile } from '../daemon/keyfile.ts';
import { envelopeHash } from '../protocol/dsse.ts';
import { allStoredLatencies, percentile, storedTimes } from './propagation-latency.ts';
import { busy } from './quiet.ts';

const [daemons = 20, messages = 1000, rate = 10] = process.argv.slice(2, 5).map(Number);
const seeds = (process.argv[5] ?? '1,2,3').split(',').map(Number);

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}


for (const seed of seeds) {
  const random = prng(seed);
  const bootstrapOf = (i: number, n: number) => [...new Set([(i + 1) % n, Math.floor(random() * n), Math.floor(random() * n)])];
  const members = await makeCluster(tempDir('stagex-prop'), Array.from({ length: daemons }, (_, i) => `d${i}`), 1, { networkId: 'prop', bootstrapOf });
  const signers: SeedSigner[] = await Promise.all(members.map(async (m) => createSeedSigner(decodePrivateKeyPem(await readKeyFile(join(m.dir, 'signing-key.pem')), m.name))));
  members.forEach((m) => startMember(m, ['--log-level', 'debug']));
  try {
    await until('every daemon has peers', async () => (await Promise.all(members.map(status))).every((s) => s?.peers >= 2), 120_000);
    const apis = await Promise.all(members.map(memberApi));
    await until('the machine settles after the starts (CPU < 50 % busy over 2 s)', async () => (await busy(2000)) < 0.5, 120_000);
    console.log(`seed ${seed}: idle cluster uses ${Math.round((await busy(3000)) * 100)} % of the CPUs`);
    const sent = new Map<string, number>();
    const failed: string[] = [];
    const warmup = 50;
    const start = Date.now();
    for (let i = -warmup; i < messages; i++) {
      const at = start + ((i + warmup) * 1000) / rate;
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
      const from = Math.floor(random() * daemons);
      const bytes = envelopeBytes(signers[from]!, { image: `core-m${seed}x${i}`, inputDigest: hex64(`in ${seed} ${i}`), digest: hex64(`out ${i}`) });
      if (i >= 0) sent.set(envelopeHash(bytes), Date.now());
      callApi(apis[from]!, 'POST', '/envelopes', bytes).catch((error: Error) => {
        failed.push(`${members[from]!.name}: ${error.message}`);
      });
    }
    await new Promise((r) => setTimeout(r, 10_000));
    const stored = await storedTimes(members);
    const { latencies, lost } = allStoredLatencies(sent, stored, daemons);
    const crashed = members.filter((m) => m.process?.exitCode !== null).map((m) => m.name);
    if (failed.length || crashed.length) console.log(`seed ${seed}: ${failed.length} submissions failed (${failed.slice(0, 3).join('; ')}); daemons that exited: ${crashed.join(', ') || 'none'}`);
    if (process.env.SHOW_HOPS) for (const [hash, at] of [...sent].slice(0, 5)) console.log((stored.get(hash) ?? []).map((t) => t - at).sort((a, b) => a - b).join(' '));
    console.log(`seed ${seed}: ${daemons} daemons, ${messages} messages at ${rate}/s: all-stored latency p50 ${percentile(latencies, 0.5)} ms, p95 ${percentile(latencies, 0.95)} ms, p99 ${percentile(latencies, 0.99)} ms, max ${latencies.at(-1)} ms; lost (daemon, message) pairs: ${lost}`);
  } finally {
    await Promise.all(members.map((m) => stopMember(m)));
  }
}
