/**
 * A local network of stagex-node daemons as separate OS processes on 127.0.0.1, for the demo,
 * tests and benchmarks: each with its own key, config, store, ports and log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type Io } from '../daemon/cli.ts';
import { callApi, localApi, type LocalApi } from '../daemon/client.ts';
import { loadConfig } from '../daemon/config.ts';

export const CLI = fileURLToPath(new URL('../daemon/bin/stagex-node.ts', import.meta.url));

export interface Member {
  name: string;
  dir: string;
  config: string;
  publicKey: string;
  peerId: string;
  p2pPort: number;
  api: string;
  process?: ChildProcess;
  log: string[];
}

/** Ports this process has handed out: never twice, even once they are free again. */
const handedOut = new Set<number>();

/**
 * A port that is free on 127.0.0.1 now, for a daemon to bind a moment later. Picked at random
 * below the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), because
 * a port from that range can be taken in between as the source port of any outgoing connection
 * (every libp2p dial on the machine makes one); below it, only another listener could, and the
 * random pick makes a clash with another process's pick unlikely.
 */
export async function freePort(): Promise<number> {
  const low = 20_000;
  const high = ephemeralStart() - 1;
  for (;;) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function ephemeralStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(start) && start > 21_000) return start;
  } catch { /* not Linux: the IANA dynamic range */ }
  return 49_152;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Runs the CLI in-process; returns exit code and output. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => { out += t + '\n'; }, err: (t) => { err += t + '\n'; } };
  return { code: await runCli(args, io), out, err };
}

/**
 * Makes reproducers in `root` that trust each other at `threshold` and dial the peers
 * `bootstrapOf` names (default: a ring, each dials the next), plus `untrusted` members that
 * trust the others but are not trusted. Members named in `revoked` are listed among the trusted
 * keys and revoked by every config. `builder` is every member's builder config (paths in it
 * are taken from each member's directory).
 */
export async function makeCluster(root: string, names: string[], threshold: number, options: { untrusted?: string[]; revoked?: string[]; networkId?: string; bootstrapOf?: (index: number, count: number) => number[]; builder?: Record<string, unknown> } = {}): Promise<Member[]> {
  const all = [...names, ...(options.untrusted ?? [])];
  const members: Member[] = [];
  for (const name of all) {
    const dir = join(root, name);
    const init = await cli('init', dir, '--name', name, '--network-id', options.networkId ?? 'test', '--json');
    if (init.code !== 0) throw new Error(init.err);
    const { config, publicKey, peerId } = JSON.parse(init.out);
    members.push({ name, dir, config, publicKey, peerId, p2pPort: await freePort(), api: `127.0.0.1:${await freePort()}`, log: [] });
  }
  const trusted = members.filter((m) => names.includes(m.name));
  for (const [i, member] of members.entries()) {
    const json = JSON.parse(await readFile(member.config, 'utf8'));
    const revoked = trusted.filter((t) => options.revoked?.includes(t.name)).map((t) => t.publicKey);
    json.trust = { threshold, keys: trusted.map((t) => ({ name: t.name, publicKey: t.publicKey })), revoked };
    const peers = (options.bootstrapOf ?? ((j, n) => [(j + 1) % n]))(i, trusted.length).map((j) => trusted[j]!).filter((p) => p !== member);
    json.network.listen = [`/ip4/127.0.0.1/tcp/${member.p2pPort}`];
    json.network.bootstrap = peers.map((p) => `/ip4/127.0.0.1/tcp/${p.p2pPort}/p2p/${p.peerId}`);
    json.api = { listen: member.api };
    if (options.builder) json.builder = options.builder;
    await writeFile(member.config, JSON.stringify(json, null, 2));
  }
  return members;
}

/** Starts a member's daemon; its JSON log lines are kept in `member.log` and `<dir>/daemon.log`. */
export function startMember(member: Member, extraArgs: string[] = []): void {
  const child = spawn(process.execPath, [CLI, '-c', member.config, 'start', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  const file = createWriteStream(join(member.dir, 'daemon.log'), { flags: 'a' });
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    file.write(chunk);
    // Whole lines only: a chunk may end inside one.
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    member.log.push(...lines.filter(Boolean));
  });
  child.once('exit', () => file.end());
  member.process = child;
}

/**
 * Waits until a started member's daemon answers on its API, failing at once if it exited. Poll
 * a starting member with the CLI only after this: a CLI that finds no daemon opens the store
 * itself and answers from it (a daemon starting meanwhile waits for the lock, up to 10 s).
 */
export async function answering(member: Member, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const child = member.process;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${member.name} exited (${child.exitCode ?? child.signalCode}) before answering: ${member.log.slice(-3).join(' | ')}`);
    }
    if (await health(member).catch(() => undefined)) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${member.name} to answer on its API`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function stopMember(member: Member, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  const child = member.process;
  // A child killed by a signal has exitCode null and signalCode set: it exited all the same.
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

/**
 * The member's local API with the token its running daemon wrote (read at each call: a
 * restarted daemon writes a new one), as the CLI would use it.
 */
export async function memberApi(member: Member): Promise<LocalApi> {
  return localApi(await loadConfig(member.config));
}

/** The member's cheap counters: { envelopes, peers }. */
export async function health(member: Member): Promise<{ envelopes: number; peers: number } | undefined> {
  const reply = await callApi(await memberApi(member), 'GET', '/health');
  return reply && JSON.parse(reply.body);
}

export async function status(member: Member): Promise<any> {
  const reply = await callApi(await memberApi(member), 'GET', '/status');
  return reply && JSON.parse(reply.body);
}

export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
}

/** Rewrites a member's config file with `edit` applied to its JSON. */
export async function editConfig(member: Member, edit: (json: any) => void): Promise<void> {
  const json = JSON.parse(await readFile(member.config, 'utf8'));
  edit(json);
  await writeFile(member.config, JSON.stringify(json, null, 2));
}

/** The fields of a member's logged events named `event`, oldest first. */
export function logged(member: Member, event: string): Record<string, any>[] {
  return member.log.filter((line) => line.includes(`"event":"${event}"`)).map((line) => JSON.parse(line));
}

/**
 * Sends the member's daemon SIGHUP and waits for its answer in the log: the fields of its
 * config.reloaded or config.reload_failed event.
 */
export async function reloadMember(member: Member, ms = 30_000): Promise<Record<string, any>> {
  const outcomes = () => member.log.filter((line) => /"event":"config\.(reloaded|reload_failed)"/.test(line));
  const before = outcomes().length;
  member.process!.kill('SIGHUP');
  await until(`${member.name} logged the outcome of its reload`, () => outcomes().length > before, ms);
  return JSON.parse(outcomes()[before]!);
}
