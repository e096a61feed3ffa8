/**
 * A running stagex-node (DESIGN sections 6 and 8): the store, the libp2p peer with gossip and
 * sync, the local API and metrics, wired together. Stopping closes them in reverse order, so
 * queued writes finish and the store closes with no half batch.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { identityKey, readAttestation, type Attestation } from '../protocol/attestation.ts';
import { decide } from '../protocol/threshold.ts';
import { keyName } from '../protocol/trust.ts';
import { AttestationStore } from '../store/store.ts';
import { checkStore } from '../store/check.ts';
import { answerQuery, answerStatus, answerVerify } from './answers.ts';
import { startApi, type RunningApi } from './api.ts';
import { writeApiToken } from './api-token.ts';
import type { NodeContext } from './context.ts';
import type { Log } from './log.ts';
import { createMetrics } from './metrics.ts';
import { attestationTopic, Gossip } from './net/gossip.ts';
import { HashIndex } from './net/hash-index.ts';
import { loadOrCreateIdentity } from './net/identity.ts';
import { startPeer, type RunningPeer } from './net/peer.ts';
import { Sync } from './net/sync.ts';
import { Bans } from './net/bans.ts';
import { VerifyPool } from './verify-pool.ts';
import { startBuilder, type RunningBuilder } from './builder/service.ts';

const BULK = 64;

export interface RunningNode {
  peerId: string;
  addresses: string[];
  api: RunningApi;
  store: AttestationStore;
  gossip: Gossip;
  sync: Sync;
  peer: RunningPeer;
  /** The builder, when the config assigns this reproducer images and `build` is not false. */
  builder?: RunningBuilder;
  /** Validates, stores and gossips envelope bytes (the builder's and the API's path in). */
  submit(bytes: Uint8Array): Promise<{ result: 'added' | 'present'; hash: string }>;
  stop(): Promise<void>;
}

export interface NodeOptions {
  log: Log;
  /** Sync interval override (tests). */
  syncIntervalMs?: number;
  /** Build the config's assignment once the network is up. Default true. */
  build?: boolean;
}

export async function startNode(context: NodeContext, options: NodeOptions): Promise<RunningNode> {
  const { log } = options;
  const running: { name: string; stop: () => Promise<void> }[] = [];
  /** Stops what started, last first, each once; one that fails to stop does not keep the rest open. */
  const stopAll = async (): Promise<void> => {
    for (const service of running.splice(0).reverse()) {
      await service.stop().catch((error: Error) => log('node.stop_failed', { service: service.name, error: error.message }));
    }
  };
  try {
    return await startServices(context, options, (name, stop) => running.push({ name, stop }), stopAll);
  } catch (error) {
    // A start-up failure (a port in use, a locked store) releases what opened before it.
    await stopAll();
    throw error;
  }
}

/** Starts the services in order, registering each one's stop as soon as it runs. */
async function startServices(context: NodeContext, options: NodeOptions, started: (name: string, stop: () => Promise<void>) => void, stopAll: () => Promise<void>): Promise<RunningNode> {
  const { config, policy } = context;
  const { log } = options;
  const privateKey = await loadOrCreateIdentity(config.network.identityKey);
  const store = await AttestationStore.open(config.store, { sync: config.storeSync });
  started('store', () => store.close());
  store.onWriteHealth((change) => (change.event === 'write_failed'
    ? log('store.write_failed', { code: change.code, error: change.error })
    : log('store.reopened', { reason: 'writes go on after a failed write' })));
  const index = await HashIndex.load(store);
  store.onAdded((added) => {
    if (added.length <= BULK) for (const a of added) log('envelope.stored', { hash: a.hash });
    reportVerdicts(store, context, added, log);
  });
  const pool = new VerifyPool(context.trust);
  started('verify pool', () => pool.close());
  const bans = new Bans();
  const peer = await startPeer({ privateKey, listen: config.network.listen, bootstrap: config.network.bootstrap, topic: attestationTopic(config.networkId), bans, log });
  started('peer', () => peer.stop());
  const gossip = new Gossip({ networkId: config.networkId, policy, store, log, has: (hash) => index.has(hash) });
  gossip.start(peer.node);
  started('gossip', () => gossip.stop());
  const sync = new Sync({ networkId: config.networkId, policy, store, index, log, bans, verify: pool.verify, ...(options.syncIntervalMs ? { intervalMs: options.syncIntervalMs } : {}) });
  started('sync', () => sync.stop());
  await sync.start(peer.node);
  const submit = async (bytes: Uint8Array) => {
    const attestation = readAttestation(bytes, policy, 'submitted envelope');
    const result = await store.put(attestation);
    // A gossip message carries one signature (DESIGN section 6): a co-signed envelope spreads by sync.
    if (result === 'added' && attestation.votes.length === 1) await gossip.publish(attestation.bytes);
    return { result, hash: attestation.hash };
  };
  let cached: { at: number; value: ReturnType<typeof answerStatus> } | undefined;
  const storeStatus = () => {
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), value: answerStatus(store, policy) };
    return cached.value;
  };
  const peers = () => peer.node.getConnections().map((c) => ({ peerId: c.remotePeer.toString(), address: c.remoteAddr.toString() }));
  const metrics = createMetrics({ gossip: () => gossip.counters, sync: () => sync.counters, peers: () => peer.node.getPeers().length, store: storeStatus });
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  const addresses = peer.node.getMultiaddrs().map((a) => a.toString());
  // Written while the store lock is held, so a token file already there is a dead daemon's of
  // this config; removed after the API closes (services stop in reverse).
  const token = await writeApiToken(config.dir);
  started('api token', () => token.remove());
  const api = await startApi(config.api.listen, {
    health: () => ({ envelopes: index.size, peers: peer.node.getPeers().length }),
    status: async () => ({ name: config.name, networkId: config.networkId, peerId, addresses, peers: peers().length, store: await storeStatus(), gossip: gossip.counters, sync: sync.counters }),
    peers,
    query: (params) => answerQuery(store, policy, params),
    verify: (entries) => answerVerify(store, policy, entries),
    submit,
    signatures: async (files) => ({ outcomes: await (await import('./signature-import.ts')).importSignatures(files, context.keyring, store, new Date()) }),
    envelopes: () => storedEnvelopes(store),
    storeCheck: () => checkStore(store),
    metrics,
  }, token.token);
  started('api', () => api.close());
  log('node.started', { peerId, addresses, api: api.address, envelopes: index.size });
  const assigned = config.builder.assign === 'auto' || config.builder.assign.length > 0;
  const builder = options.build !== false && assigned ? startBuilder({ context, store, submit, log }) : undefined;
  if (builder) started('builder', () => builder.stop());
  return {
    peerId, addresses, api, store, gossip, sync, peer, submit,
    ...(builder ? { builder } : {}),
    async stop() {
      await stopAll();
      log('node.stopped', {});
    },
  };
}

/**
 * Logs what each write changes: loudly conflicts and equivocation, and identities that just
 * reached the threshold. One read of the written identities' tallies per write.
 */
function reportVerdicts(store: AttestationStore, context: NodeContext, added: readonly Attestation[], log: Log): void {
  const identities = [...new Set(added.flatMap((a) => a.votes.map(identityKey)))];
  void store.votesForIdentities(identities).then(({ votes }) => {
    const verdicts = decide(votes, context.policy);
    const quiet = added.length > BULK;
    for (const verdict of verdicts) {
      const signers = verdict.digests.map((d) => ({ digest: d.digest, signers: d.keyids.map((k) => keyName(context.policy, k)) }));
      if (verdict.status === 'conflict') log('verdict.conflict', { ...verdict.identity, digests: signers });
      else if (!quiet && verdict.status === 'trusted' && verdict.count === verdict.threshold) log('verdict.trusted', { ...verdict.identity, digest: verdict.digest, signers: signers[0]!.signers });
      for (const e of verdict.equivocating) log('verdict.equivocation', { ...verdict.identity, key: keyName(context.policy, e.keyid), digests: e.digests });
    }
    if (quiet) log('store.bulk_added', { envelopes: added.length, trusted: verdicts.filter((v) => v.status === 'trusted').length });
  }, (error: Error) => log('store.error', { error: error.message }));
}

/** Every stored envelope with its hash, read in batches. */
async function* storedEnvelopes(store: AttestationStore): AsyncGenerator<{ hash: string; bytes: Uint8Array }> {
  let batch: string[] = [];
  const flush = async function* () {
    const bytes = await store.getMany(batch);
    for (const [i, hash] of batch.entries()) if (bytes[i]) yield { hash, bytes: bytes[i] };
    batch = [];
  };
  for await (const hash of store.hashes()) {
    batch.push(hash);
    if (batch.length === 256) yield* flush();
  }
  yield* flush();
}
