/**
 * What a hash index reads of a store (daemon/net/hash-index.ts IndexedStore), with its start-up
 * scan held midway: the first hash comes at once, the rest when `release` is called. Shows a
 * daemon while its index loads, without racing a real scan.
 */
import type { Attestation } from '../../protocol/attestation.ts';
import type { IndexedStore } from '../../daemon/net/hash-index.ts';

export interface GatedIndexStore {
  store: IndexedStore;
  /** Tells the index's added-listener of a write, as the store does after one. */
  added(attestations: readonly Attestation[]): void;
  /** Lets the scan go on to its end. */
  release(): void;
}

export function gatedIndexStore(stored: readonly Attestation[]): GatedIndexStore {
  const hashes = stored.map((a) => a.hash).sort();
  const listeners: ((added: readonly Attestation[]) => void)[] = [];
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    store: {
      async *hashes() {
        yield* hashes.slice(0, 1);
        await gate;
        yield* hashes.slice(1);
      },
      onAdded: (listener) => void listeners.push(listener),
    },
    added: (attestations) => listeners.forEach((listener) => listener(attestations)),
    release,
  };
}
