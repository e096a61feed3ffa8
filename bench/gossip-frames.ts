/**
 * What one gossip message costs the libp2p stack, on figures load does not change (issue 11):
 * write and read system calls of this process (/proc/self/io) and its CPU time
 * (process.cpuUsage) per message, and the hops from the publisher to the last node to get it
 * (what a smaller mesh costs in latency, in forwards: each is a validation and a store write in
 * a daemon); this process runs every node on loopback TCP, messages sent one at a time (the
 * next once every node has the last). Two topologies:
 *   line: 3 nodes a - b - c, a publishes; per message, the three nodes together;
 *   mesh: 20 nodes (--mesh=N), each dialling its ring neighbour and 2 peers picked by a seeded
 *     PRNG (as bench/propagation.ts lays out its daemons), a random node publishes; per message
 *     per node.
 * A node's topic validator accepts a turn of the event loop later, as a daemon's does once the
 * envelope is stored (so IDONTWANTs, sent before validating, can overtake the forwards).
 * Stacks, alternated within the run (each first in turn: the process's JIT warms up over it):
 *   libp2p as shipped (the anchor): noise's default cipher (it seals a frame of 1,200 bytes or
 *     more into a list of buffers, each written with its own system call), gossipsub's defaults;
 *   the node's cipher (daemon/net/noise-crypto.ts: one buffer), gossipsub's defaults;
 *   the node's: its cipher and GOSSIPSUB_OPTIONS (daemon/net/peer.ts);
 *   with --try='<gossipsub options as JSON>': the node's with those options over its own.
 * Real 1,348-byte envelopes; no validator, no scoring (the stack alone).
 * Run: node bench/gossip-frames.ts [messages=500] [rounds=3] [--mesh=20] [--try=JSON] [--force] (2-3 minutes)
 */
import { readFileSync } from 'node:fs';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import { TopicValidatorResult, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub';
import { startPeer, type RunningPeer } from '../daemon/net/peer.ts';
import { contiguousNoiseCrypto } from '../daemon/net/noise-crypto.ts';
import { until } from '../scripts/local-network.ts';
import { envelopeBytes, hex64, signer } from '../test/helpers/fixtures.ts';
import { seededRandom } from '../test/helpers/seeded-random.ts';
import { quietMachine } from './quiet.ts';

const { mark } = quietMachine();
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [messages = 500, rounds = 3] = positional.map(Number);
const tried = process.argv.find((a) => a.startsWith('--try='))?.slice('--try='.length);
const WARMUP = 50;
const MESH_NODES = Number(process.argv.find((a) => a.startsWith('--mesh='))?.slice('--mesh='.length) ?? 20);
const TOPIC = '/stagex/frames/attestations/1';

/** Write and read system calls this process has made so far, and bytes written. */
function io(): { writes: number; reads: number; bytes: number } {
  const fields = Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => l.split(': ') as [string, string]));
  return { writes: Number(fields.syscw), reads: Number(fields.syscr), bytes: Number(fields.wchar) };
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const key = signer(0);
let sequence = 0;
/** Fresh envelopes (gossipsub drops a message id it has seen), signed before any measuring. */
const envelopes = (count: number) => Array.from({ length: count }, () => {
  sequence += 1;
  return envelopeBytes(key, { image: `core-frames${sequence}`, inputDigest: hex64(`in ${sequence}`), digest: hex64(`out ${sequence}`) });
});

interface Stack { name: string; crypto: ICryptoInterface; gossipsub: Partial<GossipsubOpts> }
/** The options that undo GOSSIPSUB_OPTIONS' frame settings: gossipsub's defaults for those, the rest (message ids, no signatures) as the node's. */
const GOSSIPSUB_DEFAULTS: Partial<GossipsubOpts> = { idontwantMinDataSize: 512, D: 6, Dlo: 4, Dhi: 12, Dlazy: 6, gossipFactor: 0.25, heartbeatInterval: 1000, floodPublish: true };
const stacks: Stack[] = [
  { name: 'libp2p as shipped', crypto: defaultCrypto, gossipsub: GOSSIPSUB_DEFAULTS },
  { name: "node's cipher, gossipsub defaults", crypto: contiguousNoiseCrypto, gossipsub: GOSSIPSUB_DEFAULTS },
  { name: "the node's", crypto: contiguousNoiseCrypto, gossipsub: {} },
  ...(tried ? [{ name: `the node's with ${tried}`, crypto: contiguousNoiseCrypto, gossipsub: JSON.parse(tried) as Partial<GossipsubOpts> }] : []),
];

interface Topology { name: string; nodes: number; bootstrapOf: (index: number) => number[]; per: 'all nodes' | 'node' }
const meshRandom = seededRandom(1);
const meshLinks = Array.from({ length: MESH_NODES }, (_, i) => [...new Set([(i + 1) % MESH_NODES, Math.floor(meshRandom() * MESH_NODES), Math.floor(meshRandom() * MESH_NODES)])].filter((j) => j !== i));
const topologies: Topology[] = [
  { name: 'line of 3', nodes: 3, bootstrapOf: (i) => (i === 0 ? [] : [i - 1]), per: 'all nodes' },
  // Node i dials only nodes started before it (their addresses are known); the links are the same undirected graph.
  { name: `mesh of ${MESH_NODES}`, nodes: MESH_NODES, bootstrapOf: (i) => [...new Set(meshLinks.flatMap((to, from) => (from === i ? to : to.includes(i) ? [from] : [])))].filter((j) => j < i), per: 'node' },
];

/** Per message: system calls, KiB written, CPU; and the mean mesh size, the mean hops to the last node. */
interface Figures { writes: number; reads: number; kib: number; cpuMs: number; meshSize: number; hops: number }

/** Mesh size (the class has getMeshPeers; the interface @libp2p/gossipsub exports does not). */
const meshSize = (pubsub: GossipSub) => (pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(TOPIC).length;

async function run(topology: Topology, stack: Stack): Promise<Figures> {
  const peers: RunningPeer[] = [];
  const random = seededRandom(2);
  try {
    const addrs: string[] = [];
    for (let i = 0; i < topology.nodes; i++) {
      const peer = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: topology.bootstrapOf(i).map((j) => addrs[j]!), noiseCrypto: stack.crypto, gossipsub: stack.gossipsub, redialIntervalMs: 500 });
      peer.node.services.pubsub.subscribe(TOPIC);
      // A daemon forwards a message once it is stored, a turn of the event loop later (a LevelDB write).
      peer.node.services.pubsub.topicValidators.set(TOPIC, async () => {
        await new Promise(setImmediate);
        return TopicValidatorResult.Accept;
      });
      peers.push(peer);
      addrs.push(peer.node.getMultiaddrs()[0]!.toString());
    }
    const pubsubs = peers.map((p) => p.node.services.pubsub);
    // Not "every mesh at Dlo": with a small Dhi, a pruned peer's back-off can hold a mesh below it for a minute.
    await until(`${topology.name}: every node in the topic mesh`, () => pubsubs.every((p) => meshSize(p) > 0), 60_000);
    const index = new Map(peers.map((p, i) => [p.node.peerId.toString(), i]));
    /** The current message's hops from its publisher to each node that has it (the path of its first copy). */
    let hops = new Map<number, number>();
    let hopsTotal = 0;
    let waiting: (() => void) | undefined;
    pubsubs.forEach((pubsub, i) => pubsub.addEventListener('gossipsub:message', (event) => {
      hops.set(i, hops.get(index.get(event.detail.propagationSource.toString())!)! + 1);
      if (hops.size === topology.nodes) waiting?.();
    }));
    const send = async (batch: Uint8Array[]) => {
      hopsTotal = 0;
      for (const data of batch) {
        const from = topology.per === 'node' ? Math.floor(random() * topology.nodes) : 0;
        hops = new Map([[from, 0]]);
        const arrived = new Promise<void>((resolve) => { waiting = resolve; });
        await pubsubs[from]!.publish(TOPIC, data);
        await arrived;
        hopsTotal += Math.max(...hops.values());
      }
    };
    await send(envelopes(WARMUP));
    const batch = envelopes(messages);
    const before = { io: io(), cpu: cpuMs() };
    await send(batch);
    const after = { io: io(), cpu: cpuMs() };
    const meanMesh = pubsubs.reduce((sum, p) => sum + meshSize(p), 0) / pubsubs.length;
    const per = messages * (topology.per === 'node' ? topology.nodes : 1);
    return { writes: (after.io.writes - before.io.writes) / per, reads: (after.io.reads - before.io.reads) / per, kib: (after.io.bytes - before.io.bytes) / 1024 / per, cpuMs: (after.cpu - before.cpu) / per, meshSize: meanMesh, hops: hopsTotal / messages };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const show = (f: Figures) => `mesh ${f.meshSize.toFixed(1)}, ${f.hops.toFixed(2)} hops, ${f.writes.toFixed(1)} writes, ${f.reads.toFixed(1)} reads, ${f.kib.toFixed(1)} KiB, ${f.cpuMs.toFixed(3)} ms CPU`;

const degrees = Array.from({ length: MESH_NODES }, (_, i) => new Set(meshLinks.flatMap((to, from) => (from === i ? to : to.includes(i) ? [from] : []))).size);
console.log(`mesh of ${MESH_NODES}: links per node ${degrees.join(' ')}, mean ${(degrees.reduce((a, b) => a + b) / MESH_NODES).toFixed(2)}`);
console.log(`${messages} messages of ${envelopes(1)[0]!.length} bytes one at a time after ${WARMUP} warm-up, ${rounds} rounds, stacks alternated${mark}`);
for (const topology of topologies) {
  const figures = stacks.map(() => [] as Figures[]);
  for (let round = 0; round < rounds; round++) {
    // Each stack goes first in turn.
    for (let k = 0; k < stacks.length; k++) {
      const s = (round + k) % stacks.length;
      figures[s]!.push(await run(topology, stacks[s]!));
    }
    console.log(`${topology.name}, round ${round + 1}: ${stacks.map((s, i) => `${s.name}: ${show(figures[i]!.at(-1)!)}`).join('; ')}`);
  }
  const m = (i: number, k: keyof Figures) => median(figures[i]!.map((f) => f[k]));
  console.log(`${topology.name}, median per message (${topology.per}), ratio to libp2p as shipped:`);
  for (const [i, s] of stacks.entries()) {
    console.log(`  ${s.name}: mean mesh ${m(i, 'meshSize').toFixed(1)}, ${m(i, 'hops').toFixed(2)} hops to the last node, ${m(i, 'writes').toFixed(1)} writes (${(m(i, 'writes') / m(0, 'writes')).toFixed(2)}), ${m(i, 'reads').toFixed(1)} reads (${(m(i, 'reads') / m(0, 'reads')).toFixed(2)}), ${m(i, 'kib').toFixed(1)} KiB written (${(m(i, 'kib') / m(0, 'kib')).toFixed(2)}), ${m(i, 'cpuMs').toFixed(3)} ms CPU (${(m(i, 'cpuMs') / m(0, 'cpuMs')).toFixed(2)})${mark}`);
  }
}
