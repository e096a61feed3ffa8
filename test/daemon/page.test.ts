/**
 * The status page's pure parts: the login and session rules (session.ts), the graph layout on
 * the demo tree and the real StageX tree (layout.ts), and the build board and recent events fed
 * from the log (activity.ts). The page in a browser: status-page.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { checkOrigin, cookieName, loginUrl, LOGIN_TTL_MS, MAX_SESSIONS, SESSION_MS, Sessions } from '../../daemon/page/session.ts';
import { layoutGraph, type Layout } from '../../daemon/page/layout.ts';
import { Activity, MAX_LISTENERS, RECENT_EVENTS } from '../../daemon/page/activity.ts';
import { loadTree } from '../../daemon/tree.ts';
import { skipWithoutTree, STAGEX_TREE } from '../helpers/shared.ts';

const token = randomBytes(32).toString('hex');
const NOW = 1_800_000_000_000;
const queryOf = (url: string) => new URL(url).searchParams;
const cookieOf = (setCookie: string) => setCookie.split(';')[0]!;

describe('Sessions.login', () => {
  it('accepts a fresh login URL once and sets an HttpOnly, SameSite=Strict cookie named after the port', () => {
    const sessions = new Sessions(token, 7780);
    const url = loginUrl('127.0.0.1:7780', token, NOW);
    const first = sessions.login(queryOf(url), NOW + 1000);
    assert.ok(first.ok);
    assert.match(first.setCookie, new RegExp(`^${cookieName(7780)}=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/`));
    assert.ok(sessions.check(cookieOf(first.setCookie), NOW + 2000).ok);
    const again = sessions.login(queryOf(url), NOW + 2000);
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.status, 401);
  });

  for (const [what, url, at] of [
    ['made with another token', () => loginUrl('127.0.0.1:7780', randomBytes(32).toString('hex'), NOW), NOW],
    ['expired', () => loginUrl('127.0.0.1:7780', token, NOW), NOW + LOGIN_TTL_MS + 1],
    ['with its expiry changed', () => loginUrl('127.0.0.1:7780', token, NOW).replace(/expires=\d+/, `expires=${NOW + 1000}`), NOW],
    ['missing its mac', () => loginUrl('127.0.0.1:7780', token, NOW).replace(/&mac=[0-9a-f]+/, ''), NOW],
    ['expiring further ahead than a login can', () => loginUrl('127.0.0.1:7780', token, NOW + 10 * LOGIN_TTL_MS), NOW],
  ] as const) {
    it(`refuses a URL ${what}, and opens no session`, () => {
      const sessions = new Sessions(token, 7780);
      const result = sessions.login(queryOf(url()), at);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.code, 'UNAUTHORIZED');
    });
  }

  it('keeps at most MAX_SESSIONS sessions, dropping the oldest', () => {
    const sessions = new Sessions(token, 7780);
    const cookies = Array.from({ length: MAX_SESSIONS + 1 }, () => {
      const result = sessions.login(queryOf(loginUrl('127.0.0.1:7780', token, NOW)), NOW);
      assert.ok(result.ok);
      return cookieOf(result.setCookie);
    });
    assert.equal(sessions.check(cookies[0], NOW).ok, false);
    assert.ok(sessions.check(cookies.at(-1), NOW).ok);
  });
});

describe('Sessions.check', () => {
  const sessions = new Sessions(token, 7780);
  const login = sessions.login(queryOf(loginUrl('127.0.0.1:7780', token, NOW)), NOW);
  assert.ok(login.ok);
  const cookie = cookieOf(login.setCookie);

  it('accepts the session among other cookies, and refuses it after SESSION_MS', () => {
    assert.ok(sessions.check(`theme=dark; ${cookie}; other=1`, NOW + 1).ok);
    assert.equal(sessions.check(cookie, NOW + SESSION_MS + 1).ok, false);
  });

  it("refuses no cookie, a forged session and another port's cookie", () => {
    assert.equal(sessions.check(undefined, NOW).ok, false);
    assert.equal(sessions.check(`${cookieName(7780)}=${'0'.repeat(64)}`, NOW).ok, false);
    assert.equal(new Sessions(token, 7781).check(cookie, NOW).ok, false);
  });
});

describe('checkOrigin', () => {
  const ok = { host: '127.0.0.1:7780', origin: undefined, secFetchSite: undefined };
  it('accepts this daemon addressed by a loopback name, with or without its own Origin', () => {
    for (const host of ['127.0.0.1:7780', 'localhost:7780', '[::1]:7780']) assert.ok(checkOrigin({ ...ok, host }, 7780).ok, host);
    assert.ok(checkOrigin({ ...ok, origin: 'http://127.0.0.1:7780', secFetchSite: 'same-origin' }, 7780).ok);
    assert.ok(checkOrigin({ ...ok, secFetchSite: 'none' }, 7780).ok);
  });
  for (const [what, request] of [
    ['a rebound host name', { ...ok, host: 'evil.example:7780' }],
    ['another port', { ...ok, host: '127.0.0.1:7781' }],
    ['no Host', { ...ok, host: undefined }],
    ['another origin', { ...ok, origin: 'http://evil.example' }],
    ['another port as origin', { ...ok, origin: 'http://127.0.0.1:9999' }],
    ['a cross-site fetch', { ...ok, secFetchSite: 'cross-site' }],
    ['a same-site fetch from another port', { ...ok, secFetchSite: 'same-site' }],
  ] as const) {
    it(`refuses ${what} with 403`, () => {
      const result = checkOrigin(request, 7780);
      assert.equal(!result.ok && result.status, 403);
    });
  }
});

const OPTIONS = { maxRows: 40, columnWidth: 178, rowHeight: 18, layerGap: 26 };

/** Every edge goes left to right; nodes never overlap; every node is placed once. */
function assertReadable(layout: Layout, count: number): void {
  assert.equal(layout.nodes.length, count);
  const at = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const e of layout.edges) assert.ok(at.get(e.from)!.layer < at.get(e.to)!.layer, `${e.from} -> ${e.to} goes right`);
  const cells = new Set(layout.nodes.map((n) => `${n.x},${n.y}`));
  assert.equal(cells.size, count, 'no two nodes share a place');
  assert.ok(layout.nodes.every((n) => n.y + OPTIONS.rowHeight <= layout.height && n.x + OPTIONS.columnWidth <= layout.width + OPTIONS.columnWidth));
}

describe('layoutGraph', () => {
  it('puts each image one layer right of its deepest dependency, and marks implied edges', () => {
    const layout = layoutGraph([
      { id: 'fs', deps: [] }, { id: 'busybox', deps: ['fs'] }, { id: 'gcc', deps: ['fs', 'busybox'] }, { id: 'hello', deps: ['gcc', 'fs', 'missing'] },
    ], OPTIONS);
    assert.deepEqual(Object.fromEntries(layout.nodes.map((n) => [n.id, n.layer])), { fs: 0, busybox: 1, gcc: 2, hello: 3 });
    assert.deepEqual(layout.edges.filter((e) => e.implied).map((e) => `${e.from}>${e.to}`).sort(), ['fs>gcc', 'fs>hello']);
    assertReadable(layout, 4);
  });

  it('wraps a layer taller than maxRows into sub-columns', () => {
    const layout = layoutGraph([{ id: 'root', deps: [] }, ...Array.from({ length: 100 }, (_, i) => ({ id: `leaf-${i}`, deps: ['root'] }))], OPTIONS);
    assert.equal(layout.height, 34 * OPTIONS.rowHeight, '100 leaves in 3 sub-columns of at most 34');
    assertReadable(layout, 101);
  });

  it('places a cycle rather than looping', () => {
    const layout = layoutGraph([{ id: 'a', deps: ['b'] }, { id: 'b', deps: ['a'] }, { id: 'c', deps: [] }], OPTIONS);
    assert.equal(layout.nodes.length, 3);
  });

  it('runs as the plain JavaScript the page inlines', () => {
    const inlined = new Function(`return (${layoutGraph.toString()})`)() as typeof layoutGraph;
    assert.deepEqual(inlined([{ id: 'x', deps: [] }, { id: 'y', deps: ['x'] }], OPTIONS), layoutGraph([{ id: 'x', deps: [] }, { id: 'y', deps: ['x'] }], OPTIONS));
  });

  it('lays out the demo tree', async () => {
    const tree = await loadTree(join(import.meta.dirname, '..', '..'));
    assertReadable(layoutGraph([...tree.images.values()].map((i) => ({ id: i.name, deps: i.dependencies })), OPTIONS), tree.images.size);
  });

  it('keeps the real StageX tree readable: rows bounded, most edges implied', { skip: skipWithoutTree }, async () => {
    const tree = await loadTree(STAGEX_TREE);
    const layout = layoutGraph([...tree.images.values()].map((i) => ({ id: i.name, deps: i.dependencies })), OPTIONS);
    assertReadable(layout, tree.images.size);
    assert.ok(layout.height <= OPTIONS.maxRows * OPTIONS.rowHeight);
    assert.ok(layout.edges.filter((e) => !e.implied).length < layout.edges.length / 2, 'the transitive reduction keeps fewer than half the edges');
  });
});

describe('Activity', () => {
  const step = (image: string) => ({ image, platform: 'linux/amd64', inputDigest: 'a'.repeat(64) });

  it('follows a build from queued to running (with its step) to failed, from the log', () => {
    let now = 1000;
    const activity = new Activity(() => now);
    const written: string[] = [];
    const log = activity.tap((event) => written.push(event));
    log('builder.plan', { steps: [step('core-gcc'), step('core-hello')] }, 'debug');
    assert.deepEqual(activity.builds().map((b) => b.state), ['queued', 'queued']);
    log('build.started', step('core-gcc'));
    log('build.step_started', { ...step('core-gcc'), step: '[build 2/3] RUN make' }, 'debug');
    log('build.output', { ...step('core-gcc'), step: '[build 2/3] RUN make', line: 'cc' }, 'debug');
    assert.deepEqual(activity.builds()[0], { ...step('core-gcc'), state: 'running', startedAt: 1000, step: '[build 2/3] RUN make' });
    now = 5000;
    log('build.failed', { ...step('core-gcc'), code: 'BUILD_FAILED', reason: 'make: error 2' });
    assert.deepEqual(activity.builds()[0], { ...step('core-gcc'), state: 'failed', startedAt: 1000, finishedAt: 5000, step: '[build 2/3] RUN make', reason: 'make: error 2' });
    assert.deepEqual(written, ['builder.plan', 'build.started', 'build.step_started', 'build.output', 'build.failed'], 'every event is written through');
    assert.deepEqual(activity.recent().map((e) => e.event), ['build.started', 'build.failed'], 'debug events and output lines are not listed');
  });

  it('keeps the last RECENT_EVENTS events and at most MAX_LISTENERS listeners', () => {
    const activity = new Activity();
    const heard: string[] = [];
    const stop = activity.listen((e) => heard.push(e.event))!;
    for (let i = 0; i < RECENT_EVENTS + 10; i += 1) activity.record(`peer.event${i}`, {});
    assert.equal(activity.recent().length, RECENT_EVENTS);
    assert.equal(activity.recent()[0]!.event, 'peer.event10');
    assert.equal(heard.length, RECENT_EVENTS + 10);
    const more = Array.from({ length: MAX_LISTENERS - 1 }, () => activity.listen(() => undefined));
    assert.ok(more.every((s) => s !== undefined));
    assert.equal(activity.listen(() => undefined), undefined, 'one listener too many is refused');
    stop();
    activity.record('after.stop', {});
    assert.equal(heard.at(-1), `peer.event${RECENT_EVENTS + 9}`);
  });
});
