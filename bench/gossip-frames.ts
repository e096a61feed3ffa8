/**
 * What one gossip message costs the libp2p stack, on figures load does not change (issue 11):
 * three nodes in a line on loopback TCP (a publishes, b forwards, c receives), this process
 * running all three, messages sent one at a time (the next once c has the last), so every
 * message takes the same six frames: a -> b the message, b -> c its IDONTWANT and the message,
 * and a yamux window update for each of those three (strace: 28-byte writes). Per message:
 * write and read system calls of the process (/proc/self/io) and CPU time (process.cpuUsage).
 * Two stacks, alternated within the run (each first in every other round): noise's default
 * cipher (the anchor: it seals a frame of 1,200 bytes or more into a list of buffers, each
 * written with its own system call) and the node's (daemon/net/noise-crypto.ts: one buffer).
 * The node's gossipsub options and real 1,348-byte envelopes; no validator (the stack alone).
 * Run: node bench/gossip-frames.ts [messages=1000] [rounds=5] [--force] (under a minute)
 */
import { readFileSync } from 'node:fs';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import type { GossipSub } from '@libp2p/gossipsub';
import { startPeer, type RunningPeer } from '../daemon/net/peer.ts';
import { contiguousNoiseCrypto } from '../daemon/net/noise-crypto.ts';
import { until } from '../scripts/local-network.ts';
import { envelopeBytes, hex64, signer } from '../test/helpers/fixtures.ts';
import { quietMachine } from './quiet.ts';

const { mark } = quietMachine();
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [messages = 1000, rounds = 5] = positional.map(Number);
const WARMUP = 50;
const TOPIC = '/stagex/frames/attestations/1';

/** Write and read system calls this process has made so far. */
function io(): { writes: number; reads: number } {
  const fields = Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => l.split(': ') as [string, string]));
  return { writes: Number(fields.syscw), reads: Number(fields.syscr) };
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

interface Figures { writes: number; reads: number; cpuMs: number }

async function run(crypto: ICryptoInterface): Promise<Figures> {
  const peers: RunningPeer[] = [];
  const start = async (bootstrap: string[]) => {
    const peer = await startPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, noiseCrypto: crypto, redialIntervalMs: 500 });
    peer.node.services.pubsub.subscribe(TOPIC);
    peers.push(peer);
    return `${peer.node.getMultiaddrs()[0]!.toString()}`;
  };
  try {
    const addrA = await start([]);
    const addrB = await start([addrA]);
    await start([addrB]);
    const [a, b, c] = peers.map((p) => p.node.services.pubsub) as [GossipSub, GossipSub, GossipSub];
    /** Mesh sizes (the class has getMeshPeers; the interface @libp2p/gossipsub exports does not). */
    const mesh = (pubsub: GossipSub) => (pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(TOPIC).length;
    await until('a line a - b - c in the topic mesh', () => mesh(a) === 1 && mesh(b) === 2 && mesh(c) === 1, 60_000);
    let waiting: (() => void) | undefined;
    c.addEventListener('gossipsub:message', () => waiting?.());
    const send = async (batch: Uint8Array[]) => {
      for (const data of batch) {
        const arrived = new Promise<void>((resolve) => { waiting = resolve; });
        await a.publish(TOPIC, data);
        await arrived;
      }
    };
    await send(envelopes(WARMUP));
    const batch = envelopes(messages);
    const before = { io: io(), cpu: cpuMs() };
    await send(batch);
    const after = { io: io(), cpu: cpuMs() };
    return { writes: (after.io.writes - before.io.writes) / messages, reads: (after.io.reads - before.io.reads) / messages, cpuMs: (after.cpu - before.cpu) / messages };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const show = (f: Figures) => `${f.writes.toFixed(1)} writes, ${f.reads.toFixed(1)} reads, ${f.cpuMs.toFixed(2)} ms CPU`;

console.log(`3 nodes in a line, ${messages} messages of ${envelopes(1)[0]!.length} bytes one at a time after ${WARMUP} warm-up, ${rounds} rounds alternated; per message, the three nodes together${mark}`);
const anchor: Figures[] = [];
const ours: Figures[] = [];
for (let round = 1; round <= rounds; round++) {
  // Each stack goes first in every other round: the process's JIT warms up over the run.
  if (round % 2) anchor.push(await run(defaultCrypto));
  ours.push(await run(contiguousNoiseCrypto));
  if (!(round % 2)) anchor.push(await run(defaultCrypto));
  console.log(`round ${round}: noise's default cipher ${show(anchor.at(-1)!)}; the node's ${show(ours.at(-1)!)}`);
}
const m = (list: Figures[], k: keyof Figures) => median(list.map((f) => f[k]));
console.log(`median: write system calls per message ${m(anchor, 'writes').toFixed(1)} (noise's default) vs ${m(ours, 'writes').toFixed(1)} (the node's), ratio ${(m(ours, 'writes') / m(anchor, 'writes')).toFixed(2)}; CPU ${m(anchor, 'cpuMs').toFixed(2)} vs ${m(ours, 'cpuMs').toFixed(2)} ms, ratio ${(m(ours, 'cpuMs') / m(anchor, 'cpuMs')).toFixed(2)}${mark}`);
