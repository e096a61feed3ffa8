/**
 * `stagex-node doctor`'s decisions: each check turns facts probed on this machine
 * (daemon/doctor/probe.ts) into OK, WARN or FAIL with a one-line fix. Pure: no I/O, no clock
 * (`now` is a parameter), so every rule is tested without an engine, a network or a disk.
 * A FAIL is something that stops the node from doing its job; a WARN is something it can run
 * without, doing less (a node that builds nothing needs no engine).
 */
import { MIN_DOCKER_MAJOR, MIN_PODMAN_MAJOR } from '../builder/engine.ts';

export type Status = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Short stable name: config, engine, platforms, ports, keys, data, clock, bootstrap. */
  id: string;
  status: Status;
  /** What was found, one line. */
  summary: string;
  /** What to do about it, one line; absent when OK. */
  fix?: string;
}

const ok = (id: string, summary: string): Check => ({ id, status: 'ok', summary });
const warn = (id: string, summary: string, fix: string): Check => ({ id, status: 'warn', summary, fix });
const fail = (id: string, summary: string, fix: string): Check => ({ id, status: 'fail', summary, fix });

/** 0 when nothing FAILs (warnings allowed), 1 otherwise. */
export function exitCodeOf(checks: readonly Check[]): 0 | 1 {
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

/** The config loaded, or the loader's error (CONFIG_NOT_FOUND or BAD_CONFIG). */
export function configCheck(result: { file: string } | { code: string; error: string }): Check {
  if (!('error' in result)) return ok('config', `${result.file} is valid`);
  const fix = result.code === 'CONFIG_NOT_FOUND'
    ? 'make one with `stagex-node init <dir>`, or name it with -c <file> or STAGEX_NODE_CONFIG'
    : 'fix the fields named (config.example.json documents each; config.schema.json lets an editor check them)';
  return fail('config', result.error.split('\n').join(' '), fix);
}

/** What answered on builder.socket (after the builder's own checks), or the error they raised. */
export type EngineProbe = { name: string; version: string } | { code: string; message: string };

const ENGINE_FIXES: Readonly<Record<string, string>> = {
  ENGINE_UNREACHABLE: 'start the engine (as root: scripts/engine.sh for Docker, scripts/podman.sh for Podman) or point builder.socket at its socket',
  ENGINE_TOO_OLD: `install Docker >= ${MIN_DOCKER_MAJOR} (scripts/engine.sh) or Podman >= ${MIN_PODMAN_MAJOR} (scripts/podman.sh)`,
  NO_BUILDKIT: 'enable BuildKit in /etc/docker/daemon.json ("features": {"buildkit": true}) and restart dockerd',
  NO_OCI_EXPORT: 'install docker-cli and docker-buildx and enable the containerd image store ({"features":{"containerd-snapshotter":true}} in /etc/docker/daemon.json): scripts/engine.sh does both',
  ENGINE_MISMATCH: 'set builder.engine to the engine that answers, or builder.socket to the configured engine\'s socket',
};

/**
 * The engine: FAIL when the node is assigned builds and its engine is missing or unfit (the
 * builder refuses to start them), WARN when it builds nothing anyway.
 */
export function engineCheck(probe: EngineProbe, buildsSomething: boolean): Check {
  if ('name' in probe) return ok('engine', `${probe.name} ${probe.version}${probe.name === 'docker' ? ' with BuildKit, buildx and the containerd image store' : ''}`);
  const fix = ENGINE_FIXES[probe.code] ?? 'see the message; scripts/engine.sh sets up a Docker engine that builds StageX';
  const summary = `${probe.code}: ${probe.message}`;
  return buildsSomething ? fail('engine', summary, fix) : warn('engine', `${summary} (builder.assign is empty: nothing is built here)`, fix);
}

/**
 * linux/386 (StageX's bootstrap stages 0-2): FAIL when builder.platforms lists a platform this
 * machine cannot run, WARN when linux/386 is missing on an amd64 host (those stages are left
 * to other reproducers).
 */
export function platformCheck(runnable: readonly string[], host: string, configured: readonly string[] | undefined): Check {
  const missing = (configured ?? []).filter((p) => !runnable.includes(p));
  const fix = 'as root: apt-get install qemu-user-static binfmt-support (registers i386 with the F flag), or enable CONFIG_IA32_EMULATION';
  if (missing.length > 0) return fail('platforms', `builder.platforms lists ${missing.join(', ')}, which this machine does not run (it runs ${runnable.join(', ')})`, `${fix}; or remove them from builder.platforms`);
  if (host === 'linux/amd64' && !runnable.includes('linux/386')) return warn('platforms', `runs ${runnable.join(', ')}: a tiny i386 program did not run, so StageX bootstrap stages 0-2 are left to others`, fix);
  return ok('platforms', `runs ${runnable.join(', ')}`);
}

/** One address the node listens on, and whether something else holds it. */
export interface PortProbe {
  /** The config field: network.listen or api.listen. */
  field: string;
  address: string;
  state: 'free' | 'in-use' | 'dynamic' | { error: string };
}

/** The listen addresses: free, or in use while this config's own daemon runs (it holds them). */
export function portsCheck(ports: readonly PortProbe[], ownDaemonRunning: boolean): Check {
  const problems = ports.filter((p) => typeof p.state === 'object' || (p.state === 'in-use' && !ownDaemonRunning));
  if (problems.length > 0) {
    const what = problems.map((p) => `${p.field} ${p.address} ${typeof p.state === 'object' ? `cannot be bound (${p.state.error})` : 'is held by another process'}`).join('; ');
    return fail('ports', what, 'stop what holds it (ss -ltnp shows it) or choose another address in the config');
  }
  const held = ports.filter((p) => p.state === 'in-use').length;
  return ok('ports', held > 0 ? `${held} of ${ports.length} address(es) held by this node's own daemon, the rest free` : `${ports.map((p) => p.address).join(', ')} free`);
}

/** A private key file: missing (and whether start creates it), or its mode and owner. */
export interface KeyFileProbe {
  field: string;
  path: string;
  state: { missing: true; createdAtStart: boolean } | { mode: number; uid: number } | { error: string };
}

/** Key files: present (or made at first start), mode 0600 or stricter, owned by this user. */
export function keyFilesCheck(files: readonly KeyFileProbe[], uid: number): Check {
  for (const { field, path, state } of files) {
    if ('error' in state) return fail('keys', `${field} ${path}: cannot inspect (${state.error})`, `check the path and the permissions of its directory`);
    if ('missing' in state) {
      if (!state.createdAtStart) return fail('keys', `${field} ${path} does not exist`, 'restore it from your backup, or make a new node with `stagex-node init` (a new key must be trusted anew)');
      continue;
    }
    if (state.uid !== uid) return fail('keys', `${field} ${path} is owned by uid ${state.uid}, not this user (uid ${uid})`, `chown it to the user the node runs as (e.g. chown stagex: ${path})`);
    if ((state.mode & 0o077) !== 0) return fail('keys', `${field} ${path} has mode ${state.mode.toString(8).padStart(4, '0')}: group or others may read it`, `chmod 600 ${path}`);
  }
  return ok('keys', files.map((f) => `${f.field} ${'missing' in f.state ? 'made at first start' : '0600'}`).join(', '));
}

/** A directory the node writes to (its nearest existing ancestor when it does not exist yet). */
export interface DataDirProbe {
  field: string;
  path: string;
  writable: boolean | { error: string };
  /** Bytes free to this user on its file system. */
  freeBytes: number;
}

/** Below this a node cannot keep its store and logs (FAIL); below WARN_FREE_BYTES, not build StageX. */
export const MIN_FREE_BYTES = 1024 ** 3;
/** StageX layers are hundreds of MB each, and a build keeps two OCI outputs per image. */
export const WARN_FREE_BYTES = 20 * 1024 ** 3;

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/** Data directories: writable, with free space (more when the node builds). */
export function dataDirsCheck(dirs: readonly DataDirProbe[], buildsSomething: boolean): Check {
  for (const dir of dirs) {
    if (dir.writable !== true) {
      return fail('data', `${dir.field} ${dir.path} is not writable${typeof dir.writable === 'object' ? ` (${dir.writable.error})` : ''}`, `make it writable by the user the node runs as (e.g. chown -R stagex: ${dir.path})`);
    }
  }
  const low = [...dirs].sort((a, b) => a.freeBytes - b.freeBytes)[0];
  if (low === undefined) return ok('data', 'no data directories');
  if (low.freeBytes < MIN_FREE_BYTES) return fail('data', `${low.field} ${low.path}: only ${gib(low.freeBytes)} free`, 'free disk space or move the data directory to a larger file system');
  if (buildsSomething && low.freeBytes < WARN_FREE_BYTES) return warn('data', `${low.field} ${low.path}: ${gib(low.freeBytes)} free; building StageX needs more`, `free space (at least ${gib(WARN_FREE_BYTES)}) or move builder.outputs and builder.cache to a larger file system`);
  return ok('data', `${dirs.map((d) => d.field).join(', ')} writable; ${gib(low.freeBytes)} free`);
}

/** How far the clock may be behind a time this node already signed before that is a FAIL. */
export const CLOCK_SLACK_MS = 5 * 60_000;

/** The newest build time this node already signed (attestation finishedOn), or why none was read. */
export type SignedProbe = { newest: Date } | { unread: string };

/**
 * The clock: FAIL before 2025 (no StageX release is older; a machine without a battery-backed
 * clock boots in 1970), or when it is behind the newest build time this node already signed,
 * which its next attestations would contradict.
 */
export function clockCheck(now: Date, signed: SignedProbe): Check {
  const fix = 'set the clock (timedatectl set-ntp true, or chrony or systemd-timesyncd)';
  if (now.getUTCFullYear() < 2025) return fail('clock', `the clock says ${now.toISOString()}, before 2025`, fix);
  if ('unread' in signed) return ok('clock', `${now.toISOString()} (not compared with signed builds: ${signed.unread})`);
  if (signed.newest.getTime() - now.getTime() > CLOCK_SLACK_MS) {
    return fail('clock', `the clock says ${now.toISOString()}, before ${signed.newest.toISOString()}, when this node already signed a build`, fix);
  }
  return ok('clock', `${now.toISOString()}, after this node's newest signed build (${signed.newest.toISOString()})`);
}

/** A bootstrap peer and whether a TCP connection to it opened within the probe's timeout. */
export interface PeerProbe {
  address: string;
  reachable: true | { error: string };
}

/** Bootstrap peers: FAIL when none answers (the node would be alone), WARN when some do not. */
export function bootstrapCheck(peers: readonly PeerProbe[]): Check {
  if (peers.length === 0) return ok('bootstrap', 'no bootstrap peers configured: this node waits to be dialled (`stagex-node init --join` or network.bootstrap add some)');
  const down = peers.filter((p) => p.reachable !== true);
  const fix = 'check that those nodes run and that their host and port are reachable from here (firewall), or fix network.bootstrap';
  const list = down.map((p) => `${p.address} (${(p.reachable as { error: string }).error})`).join('; ');
  if (down.length === peers.length) return fail('bootstrap', `no bootstrap peer answers: ${list}`, fix);
  if (down.length > 0) return warn('bootstrap', `${peers.length - down.length} of ${peers.length} bootstrap peers answer; not: ${list}`, fix);
  return ok('bootstrap', `all ${peers.length} bootstrap peer(s) answer`);
}
