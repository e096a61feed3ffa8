/**
 * The container engine the builder drives, over the Docker Engine API (dockerode's modem on a Unix
 * socket). Builds go through BuildKit with no session and no network (DESIGN section 1: StageX
 * builds with BuildKit, `SOURCE_DATE_EPOCH=1`, and every RUN offline); images leave through
 * `GET /images/{name}/get` for canonicalization (DESIGN section 3). `scripts/engine.sh` provides
 * such an engine on Debian.
 *
 * Podman 5's Docker-compatible API (`podman system service`, `scripts/podman.sh`) is driven by the
 * same calls: it builds with Buildah instead of BuildKit, reports progress as plain text records,
 * and needs explicit `nofile` and `nproc` ulimits (NOTES "Engine"). Canonical digests agree
 * across the two engines for StageX-style images (DESIGN section 3).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { type BuildEvent, readBuildResponse } from './build-progress.ts';
import { readPodmanResponse } from './podman-progress.ts';
import { DEFAULT_BUILD_FILE } from './context-tar.ts';
import { BuilderError } from './errors.ts';

type DialOptions = Parameters<Docker['modem']['dial']>[0];

/** Heredocs and `RUN --network=none` need BuildKit's Dockerfile frontend of Docker 23+; 26 is measured. */
export const MIN_DOCKER_MAJOR = 26;
/** Podman builds heredocs and `RUN --network=none` through its compat API from 5 on; 5.4.2 is measured. */
export const MIN_PODMAN_MAJOR = 5;
/** Every build gets this, as StageX's do (DESIGN section 1). */
export const SOURCE_DATE_EPOCH = '1';

export interface EngineInit {
  /** The engine's API socket. Default `/var/run/docker.sock`. */
  socketPath?: string;
  /** How long `identify` and `check` wait for an answer, in ms. Default 5000. */
  answerTimeoutMs?: number;
  /**
   * Podman only: the `nofile` and `nproc` limits (soft = hard) of every RUN. Default: this
   * process's hard limits (`/proc/self/limits`), which a Podman service started like this process
   * can set; Podman's own default (1048576) fails with "error setting rlimit" where root may not
   * raise its limits. Docker's RUN inherits dockerd's limits and gets none.
   */
  ulimits?: Readonly<Partial<Record<Ulimit, number>>>;
}

/** The limits Podman must be given explicitly (NOTES "Engine"). */
export type Ulimit = 'nofile' | 'nproc';

/** What answers on the socket. */
export interface EngineInfo {
  name: 'docker' | 'podman';
  /** The engine's version, e.g. `26.1.5+dfsg1`. */
  version: string;
  /** The API version it speaks, e.g. `1.45`. */
  apiVersion: string;
  /** Whether `POST /build?version=2` reaches BuildKit (`Builder-Version: 2` on `/_ping`). */
  buildkit: boolean;
}

export interface BuildRequest {
  /** An uncompressed tar whose first entry is plain ustar (see context-tar.ts). */
  contextTar: Readable | Buffer;
  /** The build file's path in the context. Default `Containerfile`. */
  buildFile?: string;
  /** The stage to build; the last stage when absent. */
  target?: string;
  /** The platform to build for, e.g. `linux/amd64`; the engine's own when absent. */
  platform?: string;
  /** Build args; `SOURCE_DATE_EPOCH` is always set to 1. */
  buildArgs?: Readonly<Record<string, string>>;
  /** The name the image gets, `repo:tag` or `repo`. */
  tag: string;
  labels?: Readonly<Record<string, string>>;
  /** Rebuild every step instead of reusing the engine's cache. Default false. */
  noCache?: boolean;
  /**
   * Aborting cancels the build (the engine stops it when the request closes; Podman lets the
   * running step finish, then drops the build untagged).
   */
  signal?: AbortSignal;
}

export interface Engine {
  /** Names the engine and its version; throws ENGINE_UNREACHABLE when nothing answers. */
  identify(): Promise<EngineInfo>;
  /**
   * `identify`, then refuses an engine the builder cannot use: ENGINE_TOO_OLD for Docker below
   * MIN_DOCKER_MAJOR or Podman below MIN_PODMAN_MAJOR, NO_BUILDKIT for Docker without BuildKit
   * (Podman builds with Buildah and needs none).
   */
  check(): Promise<EngineInfo>;
  /**
   * Builds and tags an image, returning the engine's image id. Throws BuildFailedError (code
   * BUILD_FAILED, with the last log lines) when a step fails, BUILD_ABORTED when `signal` aborts.
   */
  build(request: BuildRequest, onProgress?: (event: BuildEvent) => void): Promise<string>;
  /** Gives `image` (a name or id) the name `repo:tag`; IMAGE_NOT_FOUND when there is no such image. */
  tag(image: string, repo: string, tag: string): Promise<void>;
  /** Loads an image archive (`POST /images/load`), e.g. a canonical layout's tar (layout-tar.ts). */
  loadImage(archive: Readable): Promise<void>;
  /** Makes an image of one layer from a plain tar of files (`POST /images/create?fromSrc=-`), named `repo:tag`. */
  importImage(rootfs: Readable, repo: string, tag: string): Promise<void>;
  /** The image as the engine exports it (`GET /images/{name}/get`): a docker-archive tar. */
  exportImage(name: string): Promise<Readable>;
  hasImage(name: string): Promise<boolean>;
  /** GET /info's DriverStatus: how the engine stores images (`driver-type` names the containerd snapshotter). */
  driverStatus(): Promise<unknown>;
}

/** Tries of a tag that raced another process's tag of the same name. */
const TAG_ATTEMPTS = 8;

/** An Engine on the Docker Engine API at `init.socketPath`. Connects lazily, per request. */
export function connectEngine(init: EngineInit = {}): Engine {
  const socketPath = init.socketPath ?? '/var/run/docker.sock';
  const answerTimeoutMs = init.answerTimeoutMs ?? 5000;
  const ulimits = { ...ownUlimits(), ...init.ulimits };
  const docker = new Docker({ socketPath });
  const where = `engine at ${socketPath}`;

  const dial = <T>(options: DialOptions): Promise<T> =>
    new Promise((resolve, reject) => docker.modem.dial(options, (error, result) => (error ? reject(error) : resolve(result as T))));

  /** Whether two names hold the same image now (either missing: no). */
  const sameImage = async (a: string, b: string): Promise<boolean> => {
    const ids = await Promise.all([a, b].map((name) => docker.getImage(name).inspect().then((i) => i.Id, () => undefined)));
    return ids[0] !== undefined && ids[0] === ids[1];
  };

  /** Maps an API failure to a BuilderError: unreachable socket, missing image, or the engine's own message. */
  const failed = (error: unknown, action: string): BuilderError => {
    if (error instanceof BuilderError) return error;
    const e = error as { code?: string; statusCode?: number; name?: string; message?: string };
    if (e.name === 'AbortError' || e.name === 'TimeoutError' || (e.code !== undefined && ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE'].includes(e.code))) {
      return new BuilderError('ENGINE_UNREACHABLE', `${action}: no answer from the ${where} (${e.code ?? e.name}); run scripts/engine.sh or pass the socket of a running engine`, { cause: error });
    }
    if (e.statusCode === 404) return new BuilderError('IMAGE_NOT_FOUND', `${action}: ${apiMessage(error)}`, { cause: error });
    return new BuilderError('ENGINE_ERROR', `${action}: the ${where} answered ${e.statusCode ?? 'with an error'}: ${apiMessage(error)}`, { cause: error });
  };

  const identify = async (): Promise<EngineInfo> => {
    const signal = AbortSignal.timeout(answerTimeoutMs);
    try {
      const ping = await dial<IncomingMessage>({ path: '/_ping', method: 'GET', isStream: true, abortSignal: signal, statusCodes: { 200: true, 500: 'server error' } });
      ping.resume();
      const version = await dial<{ Version?: unknown; ApiVersion?: unknown; Components?: { Name?: unknown }[] }>({
        path: '/version',
        method: 'GET',
        abortSignal: signal,
        statusCodes: { 200: true, 500: 'server error' },
      });
      const podman = (version.Components ?? []).some((c) => typeof c.Name === 'string' && c.Name.startsWith('Podman'));
      return {
        name: podman ? 'podman' : 'docker',
        version: String(version.Version ?? ''),
        apiVersion: String(version.ApiVersion ?? ''),
        buildkit: ping.headers['builder-version'] === '2',
      };
    } catch (error) {
      throw failed(error, 'identify');
    }
  };

  /** What answers, asked once for `build` (query and response differ per engine); a failure is not kept. */
  let known: Promise<EngineInfo> | undefined;
  const engineInfo = (): Promise<EngineInfo> =>
    (known ??= identify().catch((error: unknown) => {
      known = undefined;
      throw error;
    }));

  return {
    identify,

    async check() {
      const info = await identify();
      const major = Number.parseInt(info.version, 10);
      if (info.name === 'podman') {
        if (!(major >= MIN_PODMAN_MAJOR)) {
          throw new BuilderError('ENGINE_TOO_OLD', `check: expected Podman >= ${MIN_PODMAN_MAJOR} at ${socketPath}, got ${info.version || 'no version'} (older Buildah rejects heredocs); run scripts/podman.sh`);
        }
        return info;
      }
      if (!(major >= MIN_DOCKER_MAJOR)) {
        throw new BuilderError('ENGINE_TOO_OLD', `check: expected Docker Engine >= ${MIN_DOCKER_MAJOR} at ${socketPath}, got ${info.version || 'no version'} (older frontends reject heredocs and RUN --network=none); run scripts/engine.sh`);
      }
      if (!info.buildkit) {
        throw new BuilderError('NO_BUILDKIT', `check: Docker ${info.version} at ${socketPath} has BuildKit disabled (expected Builder-Version 2 on /_ping); enable it in daemon.json ("features": {"buildkit": true})`);
      }
      return info;
    },

    async build(request, onProgress) {
      const buildFile = request.buildFile ?? DEFAULT_BUILD_FILE;
      const what = `${request.tag}${request.target === undefined ? '' : ` (target ${request.target})`}`;
      if (Buffer.isBuffer(request.contextTar)) checkFirstEntry(request.contextTar, what);
      const query = (podman: boolean): Record<string, unknown> => ({
        t: request.tag,
        dockerfile: buildFile,
        // Podman takes ulimits as "name=soft:hard" strings; Docker's {Name, Soft, Hard} objects get a 400.
        ...(podman ? { ulimits: JSON.stringify(Object.entries(ulimits).map(([name, n]) => `${name}=${n}:${n}`)) } : { version: '2' }),
        networkmode: 'none',
        nocache: request.noCache === true,
        rm: true,
        forcerm: true,
        buildargs: { ...request.buildArgs, SOURCE_DATE_EPOCH },
        ...(request.labels === undefined ? {} : { labels: request.labels }),
        ...(request.target === undefined ? {} : { target: request.target }),
        ...(request.platform === undefined ? {} : { platform: request.platform }),
      });
      const { signal } = request;
      try {
        signal?.throwIfAborted();
        const podman = (await engineInfo()).name === 'podman';
        signal?.throwIfAborted();
        // No session (dockerode opens one for version 2): nothing is pulled, so nothing needs auth.
        const response = await dial<IncomingMessage>({
          path: '/build?',
          method: 'POST',
          file: request.contextTar,
          options: query(podman),
          isStream: true,
          ...(signal === undefined ? {} : { abortSignal: signal }),
          statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
        });
        const abort = (): void => void response.destroy(signal?.reason as Error);
        signal?.addEventListener('abort', abort, { once: true });
        try {
          return await (podman ? readPodmanResponse : readBuildResponse)(response, what, onProgress);
        } finally {
          signal?.removeEventListener('abort', abort);
          response.destroy();
        }
      } catch (error) {
        if (signal?.aborted === true) throw new BuilderError('BUILD_ABORTED', `build of ${what}: aborted (${String(signal.reason)})`, { cause: error });
        throw failed(error, `build of ${what}`);
      }
    },

    async tag(image, repo, tag) {
      // Reproducers sharing one engine tag the same image at once: Docker's containerd store
      // deletes the name and creates it again, and the loser of that race is told "already
      // exists". Done is done when the name now holds our image; otherwise try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await docker.getImage(image).tag({ repo, tag });
          return;
        } catch (error) {
          const raced = /already exists/.test((error as Error).message) && attempt < TAG_ATTEMPTS;
          if (raced && await sameImage(image, `${repo}:${tag}`)) return;
          if (!raced) throw failed(error, `tag ${image} as ${repo}:${tag}`);
          // A random pause, so that the racers do not meet again.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * attempt));
        }
      }
    },

    async loadImage(archive) {
      try {
        await refusal(await docker.loadImage(archive, { quiet: true }) as unknown as IncomingMessage, 'load image');
      } catch (error) {
        throw failed(error, 'load image');
      }
    },

    async importImage(rootfs, repo, tag) {
      try {
        await refusal(await docker.importImage(rootfs, { repo, tag }) as unknown as IncomingMessage, `import ${repo}:${tag}`);
      } catch (error) {
        throw failed(error, `import ${repo}:${tag}`);
      }
    },

    async exportImage(name) {
      try {
        return (await docker.getImage(name).get()) as unknown as Readable;
      } catch (error) {
        throw failed(error, `export ${name}`);
      }
    },

    async driverStatus() {
      try {
        return (await docker.info() as { DriverStatus?: unknown }).DriverStatus;
      } catch (error) {
        throw failed(error, 'info');
      }
    },

    async hasImage(name) {
      try {
        await docker.getImage(name).inspect();
        return true;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return false;
        throw failed(error, `inspect ${name}`);
      }
    },
  };
}

/**
 * Refuses a context whose first entry is a PAX or GNU long-name header: Docker would read the
 * whole body as the build file (NOTES "Engine"). Byte 156 of a tar header is its type flag.
 */
function checkFirstEntry(tar: Buffer, what: string): void {
  const type = tar.length >= 512 ? String.fromCharCode(tar[156]!) : '';
  if (['x', 'g', 'L', 'K'].includes(type)) {
    throw new BuilderError('BAD_CONTEXT', `build of ${what}: expected the context's first tar entry to be plain ustar, got type '${type}' (put the build file first; see context-tar.ts)`);
  }
}

/** This process's hard limits (soft = hard) on open files and processes; none that is unlimited or unreadable. */
function ownUlimits(): Partial<Record<Ulimit, number>> {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return {};
  }
  const limits: Partial<Record<Ulimit, number>> = {};
  for (const [name, label] of [['nofile', 'Max open files'], ['nproc', 'Max processes']] as const) {
    const hard = new RegExp(`^${label} +\\S+ +(\\d+) `, 'm').exec(text)?.[1];
    if (hard !== undefined) limits[name] = Number(hard);
  }
  return limits;
}

/** Reads a progress response to its end; the engine reports a refusal in an `error` record, with status 200. */
async function refusal(response: IncomingMessage, action: string): Promise<void> {
  const body = (await response.toArray()).join('');
  if (body.includes('"error"')) throw new BuilderError('ENGINE_ERROR', `${action}: the engine refused it: ${body.trim()}`);
}

function apiMessage(error: unknown): string {
  const e = error as { json?: { message?: unknown }; message?: unknown };
  return String(e.json?.message ?? e.message ?? error).trim();
}
