/**
 * The source fetcher against real loopback mirrors (scripts/mirror.ts) and loopback servers that
 * misbehave. Only 127.0.0.1 is ever contacted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BuilderError, type BuilderErrorCode } from '../../daemon/builder/errors.ts';
import { fetchSource, fetchSources, type SourceEvent } from '../../daemon/builder/sources.ts';
import type { Source } from '../../protocol/tree/package.ts';
import { type Mirror, serveMirror } from '../../scripts/mirror.ts';
import { tempDir } from '../helpers/tmp.ts';

const FILE = 'hello-1.0.tar.gz';
const GOOD = Buffer.from('the real source bytes\n');
const TAMPERED = Buffer.from('the real source bytes, plus a backdoor\n');

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function source(mirrors: string[], extra: Partial<Source> = {}): Source {
  return { id: 'hello', hash: sha256(GOOD), version: '1.0', format: 'tar.gz', file: FILE, mirrors, gitSha: null, ...extra };
}

async function dirWith(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = tempDir('stagex-mirror');
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
  return dir;
}

/** A loopback server that accepts connections and does whatever `onSocket` does with them. */
async function tcpServer(onSocket: (socket: Socket) => void): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // the client resets what it gives up on
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/${FILE}`,
    close: () => new Promise((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}

/** A loopback URL nothing listens on: a port bound and released. */
async function refusedUrl(): Promise<string> {
  const server = await tcpServer(() => undefined);
  await server.close();
  return server.url;
}

async function rejectsWith(promise: Promise<unknown>, code: BuilderErrorCode): Promise<BuilderError> {
  const error = await promise.then(() => assert.fail(`expected ${code}, got success`), (e: unknown) => e);
  assert.ok(error instanceof BuilderError, `expected a BuilderError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}

function recorder(): { events: SourceEvent[]; onEvent: (e: SourceEvent) => void } {
  const events: SourceEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

async function tmpFiles(cache: string): Promise<string[]> {
  return readdir(join(cache, 'tmp')).catch(() => []);
}

describe('fetchSource', () => {
  let good: Mirror;
  let bad: Mirror;
  let goodDir: string;
  before(async () => {
    goodDir = await dirWith({ [FILE]: GOOD });
    good = await serveMirror(goodDir);
    bad = await serveMirror(await dirWith({ [FILE]: TAMPERED }));
  });
  after(async () => {
    await good.close();
    await bad.close();
  });

  it('when the cache lacks the file, fetches it to sha256/<hash> and leaves no temporary file', async () => {
    const cache = tempDir('stagex-cache');
    const { events, onEvent } = recorder();
    const path = await fetchSource(source([good.url + FILE]), cache, { onEvent });
    assert.equal(path, join(cache, 'sha256', sha256(GOOD)));
    assert.deepEqual(await readFile(path), GOOD);
    assert.deepEqual(events, [{ kind: 'fetched', source: 'hello', mirror: good.url + FILE, bytes: GOOD.length, path }]);
    assert.deepEqual(await tmpFiles(cache), []);
  });

  it('when the file is cached, serves it with its mirror gone', async () => {
    const cache = tempDir('stagex-cache');
    const own = await serveMirror(goodDir);
    const first = await fetchSource(source([own.url + FILE]), cache).finally(() => own.close());
    const { events, onEvent } = recorder();
    assert.equal(await fetchSource(source([own.url + FILE]), cache, { onEvent }), first);
    assert.deepEqual(events, [{ kind: 'cached', source: 'hello', path: first }]);
  });

  it('tries mirrors in order: a 404 and a refused connection fail, the third serves', async () => {
    const cache = tempDir('stagex-cache');
    const missing = good.url + 'missing.tar.gz';
    const refused = await refusedUrl();
    const { events, onEvent } = recorder();
    const path = await fetchSource(source([missing, refused, good.url + FILE]), cache, { onEvent });
    assert.deepEqual(await readFile(path), GOOD);
    assert.deepEqual(events.map((e) => [e.kind, 'mirror' in e ? e.mirror : '']), [
      ['mirror-failed', missing],
      ['mirror-failed', refused],
      ['fetched', good.url + FILE],
    ]);
    const reasons = events.map((e) => (e.kind === 'mirror-failed' ? e.reason : ''));
    assert.match(reasons[0]!, /\b404\b/);
    assert.match(reasons[1]!, /ECONNREFUSED/);
  });

  it('when a mirror serves other bytes, discards them and takes the next mirror', async () => {
    const cache = tempDir('stagex-cache');
    const { events, onEvent } = recorder();
    const path = await fetchSource(source([bad.url + FILE, good.url + FILE]), cache, { onEvent });
    assert.deepEqual(await readFile(path), GOOD);
    const failed = events[0]!;
    assert.equal(failed.kind, 'mirror-failed');
    assert.equal(failed.mirror, bad.url + FILE);
    assert.ok(failed.reason.includes(sha256(GOOD)) && failed.reason.includes(sha256(TAMPERED)), failed.reason);
    assert.equal(events[1]!.kind, 'fetched');
  });

  it('when the only mirror serves other bytes: SOURCE_MISMATCH naming source, file, mirror and both hashes; nothing kept', async () => {
    const cache = tempDir('stagex-cache');
    const error = await rejectsWith(fetchSource(source([bad.url + FILE]), cache), 'SOURCE_MISMATCH');
    for (const part of ['hello', FILE, bad.url + FILE, sha256(GOOD), sha256(TAMPERED)]) assert.ok(error.message.includes(part), `${part} not in ${error.message}`);
    assert.equal(existsSync(join(cache, 'sha256', sha256(GOOD))), false);
    assert.deepEqual(await readdir(join(cache, 'sha256')), []);
    assert.deepEqual(await tmpFiles(cache), []);
  });

  it('when every mirror fails: SOURCE_UNAVAILABLE with one line per mirror', async () => {
    const mirrors = [good.url + 'missing.tar.gz', await refusedUrl(), 'ftp://127.0.0.1/hello-1.0.tar.gz'];
    const error = await rejectsWith(fetchSource(source(mirrors), tempDir('stagex-cache')), 'SOURCE_UNAVAILABLE');
    const lines = error.message.split('\n').slice(1);
    assert.equal(lines.length, 3, error.message);
    mirrors.forEach((mirror, i) => assert.ok(lines[i]!.includes(mirror), `${mirror} not in ${lines[i]}`));
  });

  it('when one mirror served other bytes and the rest are unavailable: SOURCE_MISMATCH', async () => {
    await rejectsWith(fetchSource(source([good.url + 'missing.tar.gz', bad.url + FILE]), tempDir('stagex-cache')), 'SOURCE_MISMATCH');
  });

  it('reads file: mirrors', async () => {
    const cache = tempDir('stagex-cache');
    const path = await fetchSource(source([pathToFileURL(join(goodDir, 'missing')).href, pathToFileURL(join(goodDir, FILE)).href]), cache);
    assert.deepEqual(await readFile(path), GOOD);
  });

  it('fails a mirror of another scheme and goes on', async () => {
    const { events, onEvent } = recorder();
    await fetchSource(source(['ftp://127.0.0.1/hello-1.0.tar.gz', 'not a url', good.url + FILE]), tempDir('stagex-cache'), { onEvent });
    assert.deepEqual(events.map((e) => e.kind), ['mirror-failed', 'mirror-failed', 'fetched']);
    assert.match(events[0]!.kind === 'mirror-failed' ? events[0]!.reason : '', /unsupported scheme ftp:/);
  });

  it('times out a mirror that accepts and never answers, then takes the next', async () => {
    const silent = await tcpServer(() => undefined);
    try {
      const { events, onEvent } = recorder();
      const started = Date.now();
      await fetchSource(source([silent.url, good.url + FILE]), tempDir('stagex-cache'), { timeoutMs: 200, onEvent });
      assert.ok(Date.now() - started < 5000);
      assert.equal(events[0]!.kind, 'mirror-failed');
      assert.match(events[0]!.kind === 'mirror-failed' ? events[0]!.reason : '', /timed out/);
      assert.equal(events[1]!.kind, 'fetched');
    } finally {
      await silent.close();
    }
  });

  it('times out a body that stalls after the headers, and keeps nothing', async () => {
    const stalling = await tcpServer((socket) => socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${GOOD.length}\r\n\r\n${GOOD.subarray(0, 5).toString()}`));
    try {
      const cache = tempDir('stagex-cache');
      const error = await rejectsWith(fetchSource(source([stalling.url]), cache, { timeoutMs: 200 }), 'SOURCE_UNAVAILABLE');
      assert.match(error.message, /timed out/);
      assert.deepEqual(await tmpFiles(cache), []);
    } finally {
      await stalling.close();
    }
  });

  it('does not time out a slow body that keeps sending', async () => {
    const trickling = await tcpServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${GOOD.length}\r\n\r\n`);
      let sent = 0;
      // A byte per 100 ms against a 1 s inactivity timeout: only a stall of 900 ms on a busy
      // machine could make a gap look like a stall (the first version sent every 60 ms against 200 ms).
      const timer = setInterval(() => {
        socket.write(GOOD.subarray(sent, sent + 1));
        sent += 1;
        if (sent >= GOOD.length) clearInterval(timer);
      }, 100);
      socket.on('close', () => clearInterval(timer));
    });
    try {
      const started = Date.now();
      const path = await fetchSource(source([trickling.url]), tempDir('stagex-cache'), { timeoutMs: 1000 });
      assert.ok(Date.now() - started > 1000, 'the body took longer than timeoutMs in all');
      assert.deepEqual(await readFile(path), GOOD);
    } finally {
      await trickling.close();
    }
  });

  it('when the caller aborts: SOURCE_ABORTED, and no further mirror is tried', async () => {
    const silent = await tcpServer(() => undefined);
    try {
      const cache = tempDir('stagex-cache');
      await rejectsWith(fetchSource(source([silent.url, good.url + FILE]), cache, { signal: AbortSignal.timeout(100) }), 'SOURCE_ABORTED');
      assert.equal(existsSync(join(cache, 'sha256', sha256(GOOD))), false);
      assert.deepEqual(await tmpFiles(cache), []);
    } finally {
      await silent.close();
    }
  });

  it('two concurrent fetches of one source both download and both succeed', async () => {
    const big = randomBytes(8 << 20);
    const mirror = await serveMirror(await dirWith({ 'big.bin': big }));
    try {
      const cache = tempDir('stagex-cache');
      const { events, onEvent } = recorder();
      const big1 = source([mirror.url + 'big.bin'], { id: 'big', hash: sha256(big), file: 'big.bin' });
      const [a, b] = await Promise.all([fetchSource(big1, cache, { onEvent }), fetchSource(big1, cache, { onEvent })]);
      assert.equal(a, b);
      assert.deepEqual(events.map((e) => e.kind), ['fetched', 'fetched']);
      assert.equal(sha256(await readFile(a)), sha256(big));
      assert.deepEqual(await tmpFiles(cache), []);
    } finally {
      await mirror.close();
    }
  });

  it('stops a mirror that sends more than maxBytes, keeps nothing of it, and takes the next', async () => {
    const cache = tempDir('stagex-cache');
    const { events, onEvent } = recorder();
    const path = await fetchSource(source([bad.url + FILE, good.url + FILE]), cache, { onEvent, maxBytes: GOOD.length });
    assert.deepEqual(await readFile(path), GOOD);
    assert.deepEqual(events.map((e) => e.kind), ['mirror-failed', 'fetched']);
    assert.deepEqual(await tmpFiles(cache), []);
  });

  it('when the only mirror sends more than maxBytes: SOURCE_MISMATCH, nothing kept', async () => {
    const cache = tempDir('stagex-cache');
    await rejectsWith(fetchSource(source([good.url + FILE]), cache, { maxBytes: GOOD.length - 1 }), 'SOURCE_MISMATCH');
    assert.deepEqual(await readdir(join(cache, 'sha256')), []);
    assert.deepEqual(await tmpFiles(cache), []);
  });

  it('refuses a hash that is not lowercase sha256 hex: BAD_SOURCE', async () => {
    await rejectsWith(fetchSource(source([good.url + FILE], { hash: '../../escape' }), tempDir('stagex-cache')), 'BAD_SOURCE');
    await rejectsWith(fetchSource(source([good.url + FILE], { hash: sha256(GOOD).toUpperCase() }), tempDir('stagex-cache')), 'BAD_SOURCE');
  });
});

describe('fetchSources', () => {
  it('first removes temporary files a crashed fetch left (written before this process started), not newer ones', async () => {
    const mirror = await serveMirror(await dirWith({ [FILE]: GOOD }));
    try {
      const cache = tempDir('stagex-cache');
      await mkdir(join(cache, 'tmp'), { recursive: true });
      const [stale, fresh] = [join(cache, 'tmp', 'stale.partial'), join(cache, 'tmp', 'fresh.partial')];
      await writeFile(stale, 'half a download');
      await writeFile(fresh, 'a download in progress');
      const beforeThisProcess = new Date(Date.now() - performance.now() - 60_000);
      await utimes(stale, beforeThisProcess, beforeThisProcess);
      await fetchSources([source([mirror.url + FILE])], cache);
      assert.deepEqual(await tmpFiles(cache), ['fresh.partial']);
    } finally {
      await mirror.close();
    }
  });

  it('maps each source id to its cache path, and throws at a source that cannot be fetched', async () => {
    const other = Buffer.from('patch set\n');
    const mirror = await serveMirror(await dirWith({ [FILE]: GOOD, 'p.tar': other }));
    try {
      const cache = tempDir('stagex-cache');
      const sources = [source([mirror.url + FILE]), source([mirror.url + 'p.tar'], { id: 'patches', hash: sha256(other), file: 'p.tar' })];
      const paths = await fetchSources(sources, cache);
      assert.deepEqual([...paths.keys()], ['hello', 'patches']);
      assert.deepEqual(await readFile(paths.get('patches')!), other);
      await rejectsWith(fetchSources([...sources, source([mirror.url + 'gone'], { id: 'gone', hash: sha256(Buffer.from('x')) })], cache), 'SOURCE_UNAVAILABLE');
    } finally {
      await mirror.close();
    }
  });
});

describe('serveMirror', () => {
  let mirror: Mirror;
  let dir: string;
  before(async () => {
    dir = await dirWith({ [FILE]: GOOD });
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'x'), 'x');
    await symlink(await dirWith({ secret: 'outside' }), join(dir, 'out'));
    mirror = await serveMirror(dir);
  });
  after(() => mirror.close());

  /** A raw request: fetch would normalise `..` away before sending. */
  function raw(method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: mirror.port, method, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('binds 127.0.0.1 and serves GET and HEAD of files, in subdirectories too', async () => {
    assert.match(mirror.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = await raw('GET', `/${FILE}`);
    assert.equal(get.status, 200);
    assert.equal(get.body, GOOD.toString());
    const head = await raw('HEAD', `/${FILE}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(GOOD.length));
    assert.equal(head.body, '');
    assert.equal((await raw('GET', '/sub/x')).body, 'x');
  });

  it('answers 404 for missing files and directories (no listing), 400 for dot segments, 405 for other methods', async () => {
    assert.equal((await raw('GET', '/missing')).status, 404);
    assert.equal((await raw('GET', '/')).status, 404);
    assert.equal((await raw('GET', '/sub')).status, 404);
    assert.equal((await raw('GET', `/sub/../${FILE}`)).status, 400);
    assert.equal((await raw('GET', '/%2e%2e/etc/passwd')).status, 400);
    assert.equal((await raw('GET', '/%zz')).status, 400);
    assert.equal((await raw('POST', `/${FILE}`)).status, 405);
  });

  it('does not follow a symlink out of its directory', async () => {
    assert.equal((await raw('GET', '/out/secret')).status, 404);
  });

  it('when the port is taken, rejects', async () => {
    await assert.rejects(serveMirror(dir, { port: mirror.port }), { code: 'EADDRINUSE' });
  });
});
