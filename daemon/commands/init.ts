/** `stagex-node init`: a signing key and a config in a directory (DESIGN section 8). */
import { mkdir, writeFile, access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { toHex } from '../../protocol/encoding.ts';
import { DaemonError } from '../errors.ts';
import { configSchema, type ConfigFile } from '../config.ts';
import { createSigningKey } from '../keyfile.ts';
import { loadOrCreateIdentity } from '../net/identity.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { collect } from './args.ts';
import { parsePeerAddress } from '../net/peer-address.ts';

export const CONFIG_NAME = 'config.json';
export const KEY_NAME = 'signing-key.pem';
export const IDENTITY_NAME = 'peer-identity.key';

export interface InitResult {
  config: string;
  keyid: string;
  publicKey: string;
  /** libp2p peer id, for other nodes' bootstrap lists. */
  peerId: string;
}

/** The longest name a config allows (config.ts `name`, and a trusted signer's name). */
const MAX_NAME = 64;

/**
 * A reproducer name from a host name: the characters names allow (letters, digits, dot,
 * underscore, dash) kept, every run of others made one dash, at most 64; `stagex-node` when
 * nothing is left.
 */
export function nameFromHost(host: string): string {
  const name = host.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, MAX_NAME).replace(/[-.]+$/, '');
  return name === '' ? 'stagex-node' : name;
}

/**
 * Creates `dir` with a 0600 key and a config trusting only that key (threshold 1), dialling
 * `bootstrap` (peer addresses, checked by parsePeerAddress) at start.
 */
export async function init(dir: string, name: string, networkId: string, bootstrap: readonly string[] = []): Promise<InitResult> {
  for (const address of bootstrap) parsePeerAddress(address, '--join');
  const root = resolve(dir);
  const configPath = join(root, CONFIG_NAME);
  if (await exists(configPath)) throw new DaemonError('EXISTS', `${configPath} already exists; refusing to overwrite it`);
  if (await exists(join(root, KEY_NAME))) throw new DaemonError('EXISTS', `${join(root, KEY_NAME)} already exists; refusing to overwrite it`);
  const draft = { name, networkId, signingKey: KEY_NAME, trust: { threshold: 1, keys: [{ name, publicKey: '0'.repeat(64) }] } };
  const checked = configSchema.safeParse(draft);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new DaemonError('USAGE', `init: ${issue.path.join('.')}: ${issue.message}`);
  }
  await mkdir(root, { recursive: true, mode: 0o700 });
  const signer = await createSigningKey(join(root, KEY_NAME));
  const publicKey = toHex(signer.publicKey);
  const config: ConfigFile = { ...draft, trust: { threshold: 1, keys: [{ name, publicKey }], revoked: [] }, store: 'store', network: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [...bootstrap], identityKey: IDENTITY_NAME } };
  const identity = await loadOrCreateIdentity(join(root, IDENTITY_NAME));
  await writeFile(configPath, JSON.stringify(config, null, 2) + '\n', { flag: 'wx' });
  return { config: configPath, keyid: signer.keyid, publicKey, peerId: peerIdFromPrivateKey(identity).toString() };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

export function registerInit(program: Command, env: CommandEnv): void {
  program
    .command('init')
    .description('create a signing key (mode 0600) and a config in a directory')
    .argument('[dir]', 'directory to create', '.')
    .option('--name <name>', 'this reproducer\'s name (shown to other nodes)', nameFromHost(hostname()))
    .option('--network-id <id>', 'network id shared by all peers', 'stagex')
    .option('--join <multiaddr>', 'a peer of the network to join, /ip4/<host>/tcp/<port>/p2p/<peer id>: dialled at start (network.bootstrap); repeatable', collect, [])
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { name: string; networkId: string; join: string[]; json?: boolean }) => {
      const result = await init(dir, options.name, options.networkId, options.join);
      env.io.out(options.json ? JSON.stringify(result) : `created ${result.config}\nkeyid      ${result.keyid}\npublic key ${result.publicKey}\npeer id    ${result.peerId}`);
    });
}
