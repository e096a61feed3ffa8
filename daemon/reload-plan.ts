/**
 * What a config reload (SIGHUP, `stagex-node reload`) changes: a pure comparison of the running
 * config with the file's new one. Reloadable: `trust` (keys, threshold, revocations) and
 * `network.bootstrap`. Everything else (listen addresses, keys, store, API, builder, names)
 * needs a restart: it is reported and the running value kept.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config.ts';

export interface TrustChanges {
  threshold?: { from: number; to: number };
  /** Signer names, by what happened to them. */
  added: string[];
  removed: string[];
  /** Same name, other keys. */
  changed: string[];
  /** Revocation entries (keyids, public keys, fingerprints) added and removed. */
  revoked: string[];
  unrevoked: string[];
}

export interface ReloadPlan {
  /** The config to run on: the running one with the reloadable fields of the new one. */
  config: Config;
  trust: TrustChanges;
  bootstrap: { added: string[]; removed: string[] };
  /** Fields that differ in the file but are kept as they run until a restart. */
  needsRestart: string[];
  /** Whether anything reloadable changed. */
  changed: boolean;
}

/** Fields that only a restart applies, by path. */
const RESTART_ONLY: readonly (readonly string[])[] = [
  ['name'], ['networkId'], ['signingKey'], ['signer'], ['store'], ['api'], ['builder'],
  ['network', 'listen'], ['network', 'identityKey'],
];

const at = (value: unknown, path: readonly string[]): unknown => path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);

const minus = <T>(a: readonly T[], b: readonly T[]): T[] => a.filter((x) => !b.includes(x));

export function planReload(running: Config, next: Config): ReloadPlan {
  const before = new Map(running.trust.keys.map((k) => [k.name, k]));
  const after = new Map(next.trust.keys.map((k) => [k.name, k]));
  const trust: TrustChanges = {
    ...(running.trust.threshold === next.trust.threshold ? {} : { threshold: { from: running.trust.threshold, to: next.trust.threshold } }),
    added: minus([...after.keys()], [...before.keys()]),
    removed: minus([...before.keys()], [...after.keys()]),
    changed: [...after.keys()].filter((name) => before.has(name) && !isDeepStrictEqual(before.get(name), after.get(name))),
    revoked: minus(next.trust.revoked, running.trust.revoked),
    unrevoked: minus(running.trust.revoked, next.trust.revoked),
  };
  const bootstrap = { added: minus(next.network.bootstrap, running.network.bootstrap), removed: minus(running.network.bootstrap, next.network.bootstrap) };
  const needsRestart = RESTART_ONLY.filter((path) => !isDeepStrictEqual(at(running, path), at(next, path))).map((path) => path.join('.'));
  return {
    config: { ...running, trust: next.trust, network: { ...running.network, bootstrap: next.network.bootstrap } },
    trust,
    bootstrap,
    needsRestart,
    changed: !isDeepStrictEqual(running.trust, next.trust) || !isDeepStrictEqual(running.network.bootstrap, next.network.bootstrap),
  };
}
