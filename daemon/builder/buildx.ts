/**
 * Docker builds the way StageX's release recipe does (DESIGN section 3, "The StageX digest"):
 * `docker buildx build` with the recipe's arguments (protocol/recipe.ts), on dockerd's own
 * BuildKit (the `docker` driver) with the containerd image store, whose OCI exporter writes the
 * image StageX publishes and signs. The CLI is used because the Engine API's `POST /build` has no
 * session on that store (moby/moby#47717) and no named contexts without one; buildx gives both.
 * `scripts/engine.sh` installs `docker-cli` and `docker-buildx` from Debian and enables the store.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type BuildEvent, keepLine } from './build-progress.ts';
import { BuilderError, BuildFailedError } from './errors.ts';

/** The docker CLI; its buildx plugin is looked up by the CLI itself (/usr/libexec/docker/cli-plugins). */
const DOCKER = 'docker';

/** How long an aborted build's process group has after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 10_000;

export interface BuildxRun {
  /** Arguments after `docker buildx` (recipeArgs). */
  args: string[];
  /** Environment the recipe builds in (Recipe.env), over this process's. */
  env: Readonly<Record<string, string>>;
  /** The engine's socket, given to the CLI as DOCKER_HOST. */
  socketPath: string;
  /** What is built, for messages. */
  what: string;
  signal?: AbortSignal;
  onProgress?: (event: BuildEvent) => void;
}

/**
 * Runs one build to its end. Plain progress (`#<n> ...` lines on stderr) is passed on as log
 * events, the last lines kept to explain a failure: BUILD_FAILED with them when the build fails,
 * BUILD_ABORTED when `signal` aborts (the CLI's process group gets SIGTERM, then SIGKILL 10 s
 * later if still there; build-image.ts aborts at its time limit), ENGINE_UNREACHABLE when
 * the CLI cannot be started.
 */
export async function runBuildx(run: BuildxRun): Promise<void> {
  run.signal?.throwIfAborted();
  const child = spawn(DOCKER, ['buildx', ...run.args], {
    env: { ...process.env, ...run.env, DOCKER_HOST: `unix://${run.socketPath}` },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    }
  };
  // SIGTERM lets the CLI cancel its BuildKit session; a group that ignores it is killed.
  const kill = (): void => {
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS).unref();
  };
  run.signal?.addEventListener('abort', kill, { once: true });
  const tail: string[] = [];
  const progress = plainProgress();
  const read = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr') =>
    (async () => {
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        keepLine(tail, line);
        const event = progress(line, name);
        if (event) run.onProgress?.(event);
      }
    })();
  try {
    const [code] = await Promise.all([
      new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (status) => resolve(status));
      }),
      read(child.stdout!, 'stdout'),
      read(child.stderr!, 'stderr'),
    ]);
    if (run.signal?.aborted) throw new BuilderError('BUILD_ABORTED', `build of ${run.what}: aborted (${String(run.signal.reason)})`);
    if (code !== 0) throw new BuildFailedError(`build of ${run.what}: docker buildx exited with ${code}`, tail);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BuilderError('ENGINE_UNREACHABLE', `build of ${run.what}: the docker CLI is not installed (run scripts/engine.sh)`, { cause: error });
    }
    throw error;
  } finally {
    run.signal?.removeEventListener('abort', kill);
  }
}

/**
 * Reads buildx's plain progress, one line at a time: the first line of `#<n>` names a step
 * (BuildKit vertex: `[stage k/m] INSTRUCTION`, `exporting to oci image format`), `#<n> DONE <time>` and `#<n> CACHED` finish it, `#<n> ERROR: ...` fails it,
 * `#<n> <seconds> <text>` is a line of its output; anything else is a log line of no step.
 */
export function plainProgress(): (line: string, stream: 'stdout' | 'stderr') => BuildEvent | undefined {
  const names = new Map<string, string>();
  return (line, stream) => {
    const match = /^(#\d+) (.*)$/.exec(line);
    if (match === null) return line.trim() === '' ? undefined : { kind: 'log', step: '', stream, line };
    const [, id, rest] = match as unknown as [string, string, string];
    const known = names.get(id);
    if (known === undefined && !/^(\d+\.\d+ |DONE\b|CACHED$|ERROR)/.test(rest)) {
      names.set(id, rest);
      return { kind: 'step', id, name: rest, cached: false, completed: false };
    }
    const name = known ?? id;
    if (/^DONE\b/.test(rest)) return { kind: 'step', id, name, cached: false, completed: true };
    if (rest === 'CACHED') return { kind: 'step', id, name, cached: true, completed: true };
    if (rest.startsWith('ERROR')) return { kind: 'step', id, name, cached: false, completed: true, error: rest.replace(/^ERROR:?\s*/, '') };
    return { kind: 'log', step: name, stream, line: rest.replace(/^\d+\.\d+ /, '') };
  };
}

/**
 * Refuses a Docker engine that cannot make StageX's OCI export: NO_OCI_EXPORT when the docker
 * CLI or its buildx plugin is missing, or dockerd keeps images in its classic store (whose
 * exporter refuses type=oci). `driverStatus` is GET /info's DriverStatus.
 */
export function checkBuildx(socketPath: string, driverStatus: unknown): void {
  const fix = 'run scripts/engine.sh (docker-cli and docker-buildx from Debian, and {"features":{"containerd-snapshotter":true}} in /etc/docker/daemon.json)';
  const containerd = Array.isArray(driverStatus) && driverStatus.some((pair) => Array.isArray(pair) && pair[0] === 'driver-type' && pair[1] === 'io.containerd.snapshotter.v1');
  if (!containerd) throw new BuilderError('NO_OCI_EXPORT', `check: Docker at ${socketPath} keeps images in its classic store, whose exporter refuses StageX's OCI output; ${fix}`);
  const version = spawnSync(DOCKER, ['buildx', 'version'], { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` }, encoding: 'utf8', timeout: 10_000 });
  if (version.status !== 0) {
    throw new BuilderError('NO_OCI_EXPORT', `check: \`docker buildx version\` failed (${version.error?.message ?? version.stderr.trim().split('\n')[0] ?? `exit ${version.status}`}); ${fix}`);
  }
}
