/** The hostile peer's options (test/helpers/hostile-peer.ts), checked where the process reads them. */
import { z } from 'zod';

export const GOSSIP_ATTACKS = ['variants', 'keyless', 'badsig', 'unknown', 'oversize', 'garbage'] as const;
export const SYNC_ATTACKS = ['sync-garbage', 'sync-oversize', 'sync-slowloris', 'sync-streams', 'sync-huge-list', 'sync-endless-ids', 'sync-serve-variants', 'sync-serve-endless'] as const;
export const ATTACKS = [...GOSSIP_ATTACKS, ...SYNC_ATTACKS] as const;
export type Attack = (typeof ATTACKS)[number];

export const flooderOptionsSchema = z.object({
  networkId: z.string().min(1),
  /** Multiaddrs of the honest daemons, each ending in /p2p/<peer id>. */
  targets: z.array(z.string().includes('/p2p/')).min(1),
  /** A public canonical attestation (base64 of its bytes), one signature by a trusted key. */
  envelope: z.string().min(1),
  attacks: z.array(z.enum(ATTACKS)).min(1),
  /** Gossip messages per second per gossip attack; sync attempts per second per attack and target at most. */
  rate: z.number().positive().max(10_000),
  durationMs: z.number().int().positive(),
  /** When the sync attacks start (gossip attacks run from the start). */
  syncAfterMs: z.number().int().nonnegative(),
  /** How many re-encodings sync-serve-variants offers (each a distinct id an honest node fetches and verifies). */
  servedVariants: z.number().int().min(1).max(200_000).default(64),
});
export type FlooderOptions = z.input<typeof flooderOptionsSchema>;
