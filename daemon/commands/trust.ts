/**
 * `stagex-node trust add` / `trust revoke`: trust another reproducer's key (and set the
 * threshold), or revoke a signer's keys (a lost or compromised key). A running daemon of the
 * config is told to reload it, so the change counts at once.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { loadContext } from '../context.ts';
import { DaemonError } from '../errors.ts';
import { checked, configPath } from './args.ts';
import { configSchema, loadConfig } from '../config.ts';
import { daemonReload, localApi } from '../client.ts';
import { z } from 'zod';
import { keyidOf } from '../../protocol/keys.ts';

type TrustJson = { keys: { name: string; publicKey?: string; openpgp?: { fingerprint: string }[] }[]; threshold: number; revoked?: string[] };

/**
 * Rewrites the config file's trust section. The new file is validated in full (schema and trust
 * policy) before it replaces the old one by rename, so a failure leaves the config unchanged.
 */
async function editTrust(file: string, edit: (trust: TrustJson) => TrustJson): Promise<void> {
  await loadConfig(file);
  const json = JSON.parse(await readFile(file, 'utf8')) as { trust: TrustJson };
  const next = { ...json, trust: edit(json.trust) };
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, JSON.stringify(next, null, 2) + '\n', { flag: 'w' });
  try {
    await loadContext(temp);
  } catch (error) {
    await unlink(temp);
    throw error;
  }
  await rename(temp, file);
}

/** Adds a trusted key to the config file (validated before it replaces the file). */
export async function addTrustedKey(file: string, name: string, publicKey: string, threshold?: number): Promise<void> {
  await editTrust(file, (trust) => {
    const keys = checked(configSchema.shape.trust.shape.keys, [...trust.keys, { name, publicKey }], 'trust add');
    if (trust.keys.some((k) => k.publicKey === publicKey)) throw new DaemonError('EXISTS', `trust add: public key ${publicKey} is already trusted`);
    if (trust.keys.some((k) => k.name === name)) throw new DaemonError('EXISTS', `trust add: a key named ${name} is already trusted`);
    return { ...trust, keys: keys as TrustJson['keys'], ...(threshold === undefined ? {} : { threshold }) };
  });
}

/**
 * Revokes a signer: by name, every key it has (its ed25519 keyid and OpenPGP fingerprints); or
 * one keyid or fingerprint. Its votes and signatures stop counting; the entry stays, so the
 * record says who it was. Returns what was added to `trust.revoked`.
 */
export async function revokeSigner(file: string, who: string, threshold?: number): Promise<string[]> {
  let added: string[] = [];
  await editTrust(file, (trust) => {
    const signer = trust.keys.find((k) => k.name === who);
    const ids = signer
      ? [...(signer.publicKey ? [keyidOf(new Uint8Array(Buffer.from(signer.publicKey, 'hex')))] : []), ...(signer.openpgp ?? []).map((o) => o.fingerprint.toLowerCase())]
      : [checked(z.string().regex(/^([0-9a-f]{64}|[0-9a-fA-F]{40})$/, 'expected a signer name of trust.keys, a keyid (64 hex) or an OpenPGP fingerprint (40 hex)'), who, 'trust revoke').toLowerCase()];
    const revoked = trust.revoked ?? [];
    added = ids.filter((id) => !revoked.includes(id));
    if (added.length === 0) throw new DaemonError('EXISTS', `trust revoke: ${who} is already revoked`);
    return { ...trust, revoked: [...revoked, ...added], ...(threshold === undefined ? {} : { threshold }) };
  });
  return added;
}

/** Tells a running daemon of the config to reload it, and says what happened. */
async function applyNow(env: CommandEnv, file: string): Promise<void> {
  const reloaded = await daemonReload(await localApi(await loadConfig(file)));
  env.io.out(reloaded ? `the running daemon applied it: threshold ${reloaded.threshold} of ${reloaded.signers} signers` : 'no daemon of this config is running: it applies at the next start');
}

export function registerTrust(program: Command, env: CommandEnv): void {
  const trust = program.command('trust').description('manage the trusted signer keys of the config');
  trust
    .command('add')
    .description('trust another reproducer\'s public key')
    .argument('<name>', 'a name for the key')
    .argument('<publicKey>', 'the raw ed25519 public key, 64 hex characters (`stagex-node keys` prints it)')
    .option('--threshold <M>', 'also set the threshold M')
    .action(async (name: string, publicKey: string, options: { threshold?: string }, command: Command) => {
      const threshold = options.threshold === undefined ? undefined : checked(z.coerce.number().int().min(1), options.threshold, '--threshold');
      await addTrustedKey(configPath(command), name, publicKey, threshold);
      env.io.out(`trusted ${name} (${publicKey})${threshold ? `, threshold ${threshold}` : ''}`);
      await applyNow(env, configPath(command));
    });
  trust
    .command('revoke')
    .description('revoke a signer (a lost or compromised key): its attestations and signatures stop counting')
    .argument('<signer>', 'a signer name of trust.keys (all its keys), or one keyid or OpenPGP fingerprint')
    .option('--threshold <M>', 'also set the threshold M (M may not exceed the signers left)')
    .action(async (who: string, options: { threshold?: string }, command: Command) => {
      const threshold = options.threshold === undefined ? undefined : checked(z.coerce.number().int().min(1), options.threshold, '--threshold');
      const added = await revokeSigner(configPath(command), who, threshold);
      env.io.out(`revoked ${who}: ${added.join(', ')}${threshold ? `, threshold ${threshold}` : ''}`);
      await applyNow(env, configPath(command));
    });
}
