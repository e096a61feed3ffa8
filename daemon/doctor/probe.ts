/**
 * `stagex-node doctor`'s probes: what this machine and this config look like, gathered for the
 * pure checks in daemon/doctor/checks.ts. Nothing here changes anything: ports are bound and
 * released at once, no directory or store is created, a store held by the daemon is not read.
 */
import { access, constants, lstat, stat, statfs } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { fromHex } from '../../protocol/encoding.ts';
import { createSeedSigner, decodePrivateKeyPem, keyidOf } from '../../protocol/keys.ts';
import { parseEnvelope } from '../../protocol/dsse.ts';
import { parseStatement } from '../../protocol/statement.ts';
import { AttestationStore } from '../../store/store.ts';
import { hostPlatform } from '../builder/machine.ts';
import { runnablePlatforms } from '../builder/platforms.ts';
import { checkedEngine } from '../builder/prepare.ts';
import { daemonRunning, localApi } from '../client.ts';
import type { Config } from '../config.ts';
import { readKeyFile } from '../keyfile.ts';
import { parsePeerAddress } from '../net/peer-address.ts';
import type { DataDirProbe, EngineProbe, KeyFileProbe, PeerProbe, PortProbe, SignedProbe } from './checks.ts';

/** How long a bootstrap peer has to accept a TCP connection. */
export const PEER_TIMEOUT_MS = 3000;
/** At most this many of this node's own envelopes are read for the newest signed time. */
export const MAX_OWN_ENVELOPES = 2000;

const errorText = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

export function buildsSomething(config: Config): boolean {
  return config.builder.assign === 'auto' || config.builder.assign.length > 0;
}

export async function probeEngine(config: Config): Promise<EngineProbe> {
  try {
    const { engineInfo } = await checkedEngine(config);
    return { name: engineInfo.name, version: engineInfo.version };
  } catch (error) {
    return { code: (error as { code?: string }).code ?? 'ENGINE_ERROR', message: (error as Error).message };
  }
}

export function probePlatforms(): { runnable: string[]; host: string } {
  return { runnable: runnablePlatforms(), host: hostPlatform() };
}

/** Whether something accepts connections on host:port or the unix socket `path`. */
function answers(target: { host: string; port: number } | { path: string }, timeoutMs: number): Promise<true | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (result: true | { error: string }) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ error: `no answer within ${timeoutMs} ms` }));
    socket.once('connect', () => done(true));
    socket.once('error', (error) => done({ error: errorText(error) }));
  });
}

/** Binds host:port and releases it at once: free, in use, or another error (EACCES below 1024). */
function bindable(host: string, port: number): Promise<PortProbe['state']> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? 'in-use' : { error: errorText(error) }));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

async function probeSocketPath(path: string): Promise<PortProbe['state']> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : error));
  if (info === undefined) return 'free';
  if (info instanceof Error) return { error: errorText(info) };
  if (!info.isSocket()) return { error: 'something other than a socket is there' };
  // A dead daemon's socket is removed at start; one that answers is held.
  return (await answers({ path }, PEER_TIMEOUT_MS)) === true ? 'in-use' : 'free';
}

/** network.listen (TCP on a fixed port) and api.listen, each tried; and whether this config's daemon runs. */
export async function probePorts(config: Config): Promise<{ ports: PortProbe[]; ownDaemonRunning: boolean }> {
  const ports: PortProbe[] = [];
  for (const address of config.network.listen) {
    let host: string | undefined;
    let port: number | undefined;
    try {
      for (const c of multiaddr(address).getComponents()) {
        if (c.name === 'ip4' || c.name === 'ip6') host = c.value;
        if (c.name === 'tcp') port = Number(c.value);
      }
    } catch (error) {
      ports.push({ field: 'network.listen', address, state: { error: `not a multiaddr (${(error as Error).message})` } });
      continue;
    }
    if (host === undefined || port === undefined) ports.push({ field: 'network.listen', address, state: { error: 'expected /ip4 or /ip6 with /tcp/<port>' } });
    else ports.push({ field: 'network.listen', address, state: port === 0 ? 'dynamic' : await bindable(host, port) });
  }
  const api = config.api.listen;
  if (api.startsWith('/')) ports.push({ field: 'api.listen', address: api, state: await probeSocketPath(api) });
  else {
    const colon = api.lastIndexOf(':');
    ports.push({ field: 'api.listen', address: api, state: await bindable(api.slice(0, colon).replace(/^\[|\]$/g, ''), Number(api.slice(colon + 1))) });
  }
  const ownDaemonRunning = await daemonRunning(await localApi(config)).catch(() => false);
  return { ports, ownDaemonRunning };
}

async function keyFile(field: string, path: string, createdAtStart: boolean): Promise<KeyFileProbe> {
  try {
    const info = await stat(path);
    return { field, path, state: { mode: info.mode & 0o777, uid: info.uid } };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { field, path, state: { missing: true, createdAtStart } };
    return { field, path, state: { error: errorText(error) } };
  }
}

/** The signing key (when the config names a file) and the libp2p identity key (made at first start). */
export async function probeKeyFiles(config: Config): Promise<KeyFileProbe[]> {
  return [
    ...(config.signingKey === undefined ? [] : [await keyFile('signingKey', config.signingKey, false)]),
    await keyFile('network.identityKey', config.network.identityKey, true),
  ];
}

/** The nearest existing directory at or above `path`. */
async function existingAncestor(path: string): Promise<string> {
  for (let dir = path; ; dir = dirname(dir)) {
    if (await stat(dir).then((s) => s.isDirectory(), () => false)) return dir;
    if (dirname(dir) === dir) return dir;
  }
}

/** The directories the node writes to: the config's (api.token), the store, and the builder's cache and outputs when it builds. */
export async function probeDataDirs(config: Config, builds: boolean): Promise<DataDirProbe[]> {
  const dirs: [string, string][] = [['config directory', config.dir], ['store', config.store], ...(builds ? [['builder.cache', config.builder.cache], ['builder.outputs', config.builder.outputs]] as [string, string][] : [])];
  const probes: DataDirProbe[] = [];
  for (const [field, path] of dirs) {
    const at = await existingAncestor(path);
    const writable = await access(at, constants.W_OK | constants.X_OK).then(() => true as const, (error: unknown) => ({ error: errorText(error) }));
    const fs = await statfs(at).catch(() => undefined);
    probes.push({ field, path: at === path ? path : `${path} (not made yet; ${at})`, writable, freeBytes: fs ? fs.bavail * fs.bsize : 0 });
  }
  return probes;
}

/** This node's public key, when the config gives it or its key file can be read. */
async function ownPublicKey(config: Config): Promise<Uint8Array | undefined> {
  if (config.signer) return fromHex(config.signer.publicKey, 'signer.publicKey', 32);
  try {
    return createSeedSigner(decodePrivateKeyPem(await readKeyFile(config.signingKey!), config.signingKey!)).publicKey;
  } catch {
    return undefined;
  }
}

/**
 * The newest finishedOn among this node's own attestations (at most MAX_OWN_ENVELOPES read), or
 * why it was not read: no key, no store yet, or the daemon holds the store.
 */
export async function probeNewestSigned(config: Config): Promise<SignedProbe> {
  const publicKey = await ownPublicKey(config);
  if (publicKey === undefined) return { unread: 'this node\'s key cannot be read' };
  if (!(await stat(config.store).then(() => true, () => false))) return { unread: 'no store yet' };
  let store: AttestationStore;
  try {
    store = await AttestationStore.open(config.store);
  } catch {
    return { unread: 'the running daemon holds the store' };
  }
  try {
    const { votes } = await store.votesByKey(keyidOf(publicKey));
    const hashes = [...new Set(votes.map((v) => v.envelope))].slice(-MAX_OWN_ENVELOPES);
    let newest: Date | undefined;
    for (const bytes of await store.getMany(hashes)) {
      if (bytes === undefined) continue;
      try {
        const envelope = parseEnvelope(bytes, 'store');
        const finished = new Date(parseStatement(Buffer.from(envelope.payload, 'base64'), 'store').predicate.runDetails.metadata.finishedOn);
        if (newest === undefined || finished > newest) newest = finished;
      } catch {
        // An envelope that does not parse is the store's problem, not the clock's.
      }
    }
    return newest === undefined ? { unread: 'no attestations of its own yet' } : { newest };
  } finally {
    await store.close();
  }
}

/** Each bootstrap peer: does its host accept a TCP connection on its port within PEER_TIMEOUT_MS? */
export async function probeBootstrap(config: Config): Promise<PeerProbe[]> {
  return Promise.all(config.network.bootstrap.map(async (address) => {
    try {
      const { host, port } = parsePeerAddress(address, 'network.bootstrap', 'BAD_CONFIG');
      return { address, reachable: await answers({ host, port }, PEER_TIMEOUT_MS) };
    } catch (error) {
      return { address, reachable: { error: (error as Error).message } };
    }
  }));
}
