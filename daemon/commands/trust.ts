/**
 * `stagex-node trust add`: trust another reproducer's key (and set the threshold). A running
 * daemon of the config is told to reload it, so the key counts at once.
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

/**
 * Adds a trusted key to the config file. The new file is validated in full (schema and trust
 * policy) before it replaces the old one by rename, so a failure leaves the config unchanged.
 */
export async function addTrustedKey(file: string, name: string, publicKey: string, threshold?: number): Promise<void> {
  await loadConfig(file);
  const json = JSON.parse(await readFile(file, 'utf8')) as { trust: { keys: { name: string; publicKey: string }[]; threshold: number } };
  const keys = checked(configSchema.shape.trust.shape.keys, [...json.trust.keys, { name, publicKey }], 'trust add');
  if (json.trust.keys.some((k) => k.publicKey === publicKey)) throw new DaemonError('EXISTS', `trust add: public key ${publicKey} is already trusted`);
  if (json.trust.keys.some((k) => k.name === name)) throw new DaemonError('EXISTS', `trust add: a key named ${name} is already trusted`);
  const next = { ...json, trust: { ...json.trust, keys, ...(threshold === undefined ? {} : { threshold }) } };
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
      const reloaded = await daemonReload(await localApi(await loadConfig(configPath(command))));
      env.io.out(reloaded ? `the running daemon applied it: threshold ${reloaded.threshold} of ${reloaded.signers} signers` : 'no daemon of this config is running: it applies at the next start');
    });
}
