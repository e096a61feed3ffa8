/**
 * The container engine the builder drives, over the Docker Engine API (dockerode's modem on a Unix
 * socket). Builds go through BuildKit with no session and no network (DESIGN section 1: StageX
 * builds with BuildKit, `SOURCE_DATE_EPOCH=1`, and every RUN offline); images leave through
 * `GET /images/{name}/get` for canonicalization (DESIGN section 3). `scripts/engine.sh` provides
 * such an engine on Debian.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { type BuildEvent, readBuildResponse } from './build-progress.ts';
import { DEFAULT_BUILD_FILE } from './context-tar.ts';
import { BuilderError } from './errors.ts';

type DialOptions = Parameters<Docker['modem']['dial']>[0];

/** Heredocs and `RUN --network=none` need BuildKit's Dockerfile frontend of Docker 23+; 26 is measured. */
export const MIN_DOCKER_MAJOR = 26;
/** Every build gets this, as StageX's do (DESIGN section 1). */
export const SOURCE_DATE_EPOCH = '1';

export interface EngineInit {
  /** The engine's API socket. Default `/var/run/docker.sock`. */
  socketPath?: string;
  /** How long `identify` and `check` wait for an answer, in ms. Default 5000. */
  answerTimeoutMs?: number;
}

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
  /** Aborting cancels the build (the engine stops it when the request closes). */
  signal?: AbortSignal;
}

export interface Engine {
  /** Names the engine and its version; throws ENGINE_UNREACHABLE when nothing answers. */
  identify(): Promise<EngineInfo>;
  /**
   * `identify`, then refuses an engine the builder cannot use: ENGINE_TOO_OLD for Docker below
   * MIN_DOCKER_MAJOR, NO_BUILDKIT for an engine without BuildKit (Podman's compat API included).
   */
  check(): Promise<EngineInfo>;
  /**
   * Builds and tags an image, returning the engine's image id. Throws BuildFailedError (code
   * BUILD_FAILED, with the last log lines) when a step fails, BUILD_ABORTED when `signal` aborts.
   */
  build(request: BuildRequest, onProgress?: (event: BuildEvent) => void): Promise<string>;
  /** Gives `image` (a name or id) the name `repo:tag`; IMAGE_NOT_FOUND when there is no such image. */
  tag(image: string, repo: string, tag: string): Promise<void>;
  /** The image as the engine exports it (`GET /images/{name}/get`): a docker-archive tar. */
  exportImage(name: string): Promise<Readable>;
  hasImage(name: string): Promise<boolean>;
}

/** An Engine on the Docker Engine API at `init.socketPath`. Connects lazily, per request. */
export function connectEngine(init: EngineInit = {}): Engine {
  const socketPath = init.socketPath ?? '/var/run/docker.sock';
  const answerTimeoutMs = init.answerTimeoutMs ?? 5000;
  const docker = new Docker({ socketPath });
  const where = `engine at ${socketPath}`;

  const dial = <T>(options: DialOptions): Promise<T> =>
    new Promise((resolve, reject) => docker.modem.dial(options, (error, result) => (error ? reject(error) : resolve(result as T))));

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

  return {
    identify,

    async check() {
      const info = await identify();
      if (info.name === 'podman') {
        throw new BuilderError('NO_BUILDKIT', `check: Podman ${info.version} answers at ${socketPath}; expected Docker Engine >= ${MIN_DOCKER_MAJOR} with BuildKit (Podman's compat API builds with Buildah)`);
      }
      const major = Number.parseInt(info.version, 10);
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
      const query: Record<string, unknown> = {
        t: request.tag,
        dockerfile: buildFile,
        version: '2',
        networkmode: 'none',
        nocache: request.noCache === true,
        rm: true,
        forcerm: true,
        buildargs: { ...request.buildArgs, SOURCE_DATE_EPOCH },
        ...(request.labels === undefined ? {} : { labels: request.labels }),
        ...(request.target === undefined ? {} : { target: request.target }),
        ...(request.platform === undefined ? {} : { platform: request.platform }),
      };
      const { signal } = request;
      try {
        signal?.throwIfAborted();
        // No session (dockerode opens one for version 2): nothing is pulled, so nothing needs auth.
        const response = await dial<IncomingMessage>({
          path: '/build?',
          method: 'POST',
          file: request.contextTar,
          options: query,
          isStream: true,
          ...(signal === undefined ? {} : { abortSignal: signal }),
          statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
        });
        const abort = (): void => void response.destroy(signal?.reason as Error);
        signal?.addEventListener('abort', abort, { once: true });
        try {
          return await readBuildResponse(response, what, onProgress);
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
      try {
        await docker.getImage(image).tag({ repo, tag });
      } catch (error) {
        throw failed(error, `tag ${image} as ${repo}:${tag}`);
      }
    },

    async exportImage(name) {
      try {
        return (await docker.getImage(name).get()) as unknown as Readable;
      } catch (error) {
        throw failed(error, `export ${name}`);
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

function apiMessage(error: unknown): string {
  const e = error as { json?: { message?: unknown }; message?: unknown };
  return String(e.json?.message ?? e.message ?? error).trim();
}
