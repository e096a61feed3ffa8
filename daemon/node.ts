/**
 * A running stagex-node (DESIGN sections 6 and 8): the store, the libp2p peer with gossip and
 * sync, the local API and metrics, wired together. Stopping closes them in reverse order, so
 * queued writes finish and the store closes with no half batch. Reloading (SIGHUP, POST
 * /reload) swaps the trust policy and the bootstrap list in every service without a restart:
 * verdicts are computed from the stored votes at each ask, so the next answer follows it.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { readAttestation } from '../protocol/attestation.ts';
import { keyName, type TrustPolicy } from '../protocol/trust.ts';
import { AttestationStore } from '../store/store.ts';
import { checkStore } from '../store/check.ts';
import { answerQuery, answerVerdicts, answerVerify } from './answers.ts';
import { startApi, type RunningApi } from './api.ts';
import { writeApiToken } from './api-token.ts';
import type { NodeContext } from './context.ts';
import type { Log } from './log.ts';
import { createMetrics } from './metrics.ts';
import type { AttestationGossip } from './net/gossip.ts';
import { HashIndex } from './net/hash-index.ts';
import { loadOrCreateIdentity } from './net/identity.ts';
import { startPeer, type RunningPeer } from './net/peer.ts';
import type { AttestationSync } from './net/sync.ts';
import { VerifyPool } from './verify-pool.ts';
import { StatusBoard, type VerdictChange } from './status-board.ts';
import { coolTableCache } from './table-cache.ts';
import { startBuilder, type RunningBuilder } from './builder/service.ts';
import { createReloader, type ReloadSummary } from './reload.ts';
import { Activity } from './page/activity.ts';
import { pageGraph, pageVerdicts } from './page/data.ts';
import { PageServer } from './page/server.ts';

const BULK = 64;
/** How long a starting daemon waits for a CLI command that holds its store (then exits, saying who holds it). */
const STORE_LOCK_WAIT_MS = 10_000;

export interface RunningNode {
  peerId: string;
  addresses: string[];
  api: RunningApi;
  store: AttestationStore;
  gossip: AttestationGossip;
  sync: AttestationSync;
  peer: RunningPeer;
  /** The builder, when the config assigns this reproducer images and `build` is not false. */
  builder?: RunningBuilder;
  /** Validates, stores and gossips envelope bytes (the builder's and the API's path in). */
  submit(bytes: Uint8Array): Promise<{ result: 'added' | 'present'; hash: string }>;
  /**
   * Reads the config file again and applies its trust and bootstrap list (one reload at a
   * time). An invalid file changes nothing: logged as config.reload_failed and thrown.
   */
  reload(): Promise<ReloadSummary>;
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
  // context.policy, .trust, .keyring and .config's trust and bootstrap change on reload: read
  // them at each use; the rest of config is fixed until a restart.
  const { config } = context;
  // The status page follows the daemon through its log (daemon/page/activity.ts).
  const activity = new Activity();
  const log = activity.tap(options.log);
  const privateKey = await loadOrCreateIdentity(config.network.identityKey);
  // A CLI command may hold the store for a moment (it opens it when no daemon answers): wait for it.
  const store = await AttestationStore.open(config.store, { sync: config.storeSync, lockWaitMs: STORE_LOCK_WAIT_MS });
  started('store', () => store.close());
  store.onWriteHealth((change) => (change.event === 'write_failed'
    ? log('store.write_failed', { code: change.code, error: change.error })
    : log('store.reopened', { reason: 'writes go on after a failed write' })));
  // Loads in the background: the API answers at once; gossip and sync cope until it is ready.
  const indexStart = performance.now();
  const index = HashIndex.open(store, (error) => log('index.load_failed', { error: error.message }));
  void index.loaded.then((whole) => whole && log('index.ready', { envelopes: index.size, ms: Math.round(performance.now() - indexStart) }));
  store.onAdded((added) => {
    if (added.length <= BULK) for (const a of added) log('envelope.stored', { hash: a.hash });
    activity.notify('store.added', { envelopes: added.length });
  });
  // Verdict counts depend on the policy: a reload opens a new board under the new one. Opened
  // before gossip and sync write, so the verdict log misses no write.
  const onVerdicts = (changes: readonly VerdictChange[]) => reportVerdicts(changes, context.policy, log);
  let board = await StatusBoard.open(store, context.policy, onVerdicts);
  started('status board', async () => board.close());
  const pool = new VerifyPool(context.trust);
  started('verify pool', () => pool.close());
  // Gossip and sync are libp2p services: they start and stop with the peer, sharing its ban list.
  const peer = await startPeer({
    privateKey, listen: config.network.listen, bootstrap: config.network.bootstrap, log,
    gossip: { networkId: config.networkId, policy: context.policy, store, log, has: (hash) => (index.ready ? index.has(hash) : store.has(hash)) },
    sync: { networkId: config.networkId, policy: context.policy, store, index, log, verify: pool.verify, ...(options.syncIntervalMs ? { intervalMs: options.syncIntervalMs } : {}) },
  });
  started('peer', () => peer.stop());
  const { gossip, sync } = peer.node.services;
  if (!gossip || !sync) throw new Error('the libp2p node started without its gossip or sync service');
  const submit = async (bytes: Uint8Array) => {
    const attestation = readAttestation(bytes, context.policy, 'submitted envelope');
    const result = await store.put(attestation);
    // A gossip message carries one signature (DESIGN section 6): a co-signed envelope spreads by sync.
    if (result === 'added' && attestation.votes.length === 1) await gossip.publish(attestation.bytes);
    return { result, hash: attestation.hash };
  };
  const stopCooling = coolTableCache({ store, index, scanned: Promise.all([index.loaded, board.ready]), activity: () => sync.counters.bytesIn + sync.counters.bytesOut, log });
  started('table cache cooling', async () => stopCooling());
  const storeStatus = () => board.status(index.size);
  const reloader = createReloader(context, { peer, pool, gossip, sync }, log, async () => {
    const previous = board;
    board = await StatusBoard.open(store, context.policy, onVerdicts);
    previous.close();
  });
  const peers = () => peer.node.getConnections().map((c) => ({ peerId: c.remotePeer.toString(), address: c.remoteAddr.toString() }));
  const metrics = createMetrics({ gossip: () => gossip.counters, sync: () => sync.counters, peers: () => peer.node.getPeers().length, store: storeStatus, reloads: () => reloader.counts });
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  const addresses = peer.node.getMultiaddrs().map((a) => a.toString());
  // Written while the store lock is held, so a token file already there is a dead daemon's of
  // this config; removed after the API closes (services stop in reverse).
  const token = await writeApiToken(config.dir);
  started('api token', () => token.remove());
  const page = new PageServer({ token: token.token, activity, verdicts: async (graph) => pageVerdicts(store, context.policy, graph, await board.notable()), graph: () => pageGraph(config.builder.tree), outputs: config.builder.outputs });
  const api = await startApi(config.api.listen, {
    // While the index loads, `envelopes` counts what it has read so far.
    health: () => ({ envelopes: index.size, peers: peer.node.getPeers().length, index: index.ready ? 'ready' : 'loading' }),
    status: async () => ({ name: config.name, networkId: config.networkId, peerId, addresses, peers: peers().length, index: index.ready ? 'ready' : 'loading', trust: { threshold: context.policy.threshold, signers: context.policy.signers.size }, store: await storeStatus(), gossip: gossip.counters, sync: sync.counters, reloads: reloader.counts }),
    peers,
    query: (params) => answerQuery(store, context.policy, params),
    verify: (entries) => answerVerify(store, context.policy, entries),
    verdicts: (identities) => answerVerdicts(store, context.policy, identities),
    submit,
    signatures: async (files) => ({ outcomes: await (await import('./signature-import.ts')).importSignatures(files, context.keyring, store, new Date()) }),
    envelopes: () => storedEnvelopes(store),
    reload: () => reloader.reload(),
    storeCheck: () => checkStore(store),
    metrics,
  }, token.token, page);
  started('api', () => api.close());
  started('status page', async () => page.close());
  log('node.started', { peerId, addresses, api: api.address, envelopes: index.size });
  const assigned = config.builder.assign === 'auto' || config.builder.assign.length > 0;
  const builder = options.build !== false && assigned ? startBuilder({ context, store, submit, log }) : undefined;
  if (builder) started('builder', () => builder.stop());
  return {
    peerId, addresses, api, store, gossip, sync, peer, submit, reload: () => reloader.reload(),
    ...(builder ? { builder } : {}),
    async stop() {
      await stopAll();
      log('node.stopped', {});
    },
  };
}

/**
 * Logs what a write changed (the status board's verdicts before and after it, no store read):
 * loudly conflicts and keys that just equivocated, and identities that just became trusted;
 * a bulk write (sync, import) sums up instead of a line per trusted identity.
 */
function reportVerdicts(changes: readonly VerdictChange[], policy: TrustPolicy, log: Log): void {
  const quiet = changes.length > BULK;
  for (const { before, after } of changes) {
    const signers = () => after.digests.map((d) => ({ digest: d.digest, signers: d.keyids.map((k) => keyName(policy, k)) }));
    if (after.status === 'conflict') log('verdict.conflict', { ...after.identity, digests: signers() });
    else if (!quiet && after.status === 'trusted' && before?.status !== 'trusted') log('verdict.trusted', { ...after.identity, digest: after.digest, signers: signers()[0]!.signers });
    const known = new Set(before?.equivocating.map((e) => e.keyid));
    for (const e of after.equivocating) if (!known.has(e.keyid)) log('verdict.equivocation', { ...after.identity, key: keyName(policy, e.keyid), digests: e.digests });
  }
  if (quiet) log('store.bulk_added', { identities: changes.length, trusted: changes.filter((c) => c.after.status === 'trusted').length });
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
