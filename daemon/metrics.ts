/**
 * Prometheus metrics of a running node (`GET /metrics`): gossip outcomes, sync rounds and
 * bytes, store size, verdict counts and config reloads. Values are read from the services' counters at scrape
 * time, so the services themselves stay free of metric plumbing.
 */
import { Gauge, Registry } from 'prom-client';
import type { GossipCounters } from './net/gossip.ts';
import type { SyncCounters } from './net/sync.ts';
import type { StoreStatus } from './status-board.ts';

export interface MetricSources {
  gossip(): GossipCounters;
  sync(): SyncCounters;
  peers(): number;
  store(): Promise<StoreStatus>;
  /** Config reloads applied and refused (an invalid file). */
  reloads(): { applied: number; failed: number };
}

export function createMetrics(sources: MetricSources): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void | Promise<void>) =>
    new Gauge({ name, help, labelNames, registers: [registry], async collect() { await collect(this); } });
  gauge('stagex_gossip_messages_total', 'Gossip messages by validation result', ['result'], (g) => {
    const c = sources.gossip();
    for (const result of ['accepted', 'rejected', 'ignored', 'unread', 'published', 'stored'] as const) g.set({ result }, c[result]);
  });
  gauge('stagex_gossip_peers_banned_total', 'Peers disconnected and banned for going over their gossip budget or sending invalid messages', [], (g) => g.set(sources.gossip().peersBanned));
  gauge('stagex_sync_rounds_total', 'Sync rounds started', [], (g) => g.set(sources.sync().rounds));
  gauge('stagex_sync_bytes_total', 'Sync frame bytes', ['direction'], (g) => {
    g.set({ direction: 'in' }, sources.sync().bytesIn);
    g.set({ direction: 'out' }, sources.sync().bytesOut);
  });
  gauge('stagex_sync_envelopes_total', 'Envelopes received and added by sync', ['outcome'], (g) => {
    g.set({ outcome: 'received' }, sources.sync().envelopesReceived);
    g.set({ outcome: 'added' }, sources.sync().envelopesAdded);
  });
  gauge('stagex_peers_dropped_total', 'Peers disconnected for breaking the sync protocol', [], (g) => g.set(sources.sync().peersDropped));
  gauge('stagex_config_reloads_total', 'Config reloads (SIGHUP, stagex-node reload) by outcome', ['result'], (g) => {
    g.set({ result: 'applied' }, sources.reloads().applied);
    g.set({ result: 'failed' }, sources.reloads().failed);
  });
  gauge('stagex_peers', 'Connected peers', [], (g) => g.set(sources.peers()));
  gauge('stagex_store_envelopes', 'Envelopes in the store', [], async (g) => g.set((await sources.store()).envelopes));
  gauge('stagex_verdicts', 'Build identities by verdict', ['status'], async (g) => {
    const { verdicts } = await sources.store();
    for (const status of ['trusted', 'pending', 'conflict'] as const) g.set({ status }, verdicts[status]);
  });
  return registry;
}
