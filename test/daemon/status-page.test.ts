/**
 * The status page in a real headless browser (Debian's chromium driven by playwright-core):
 * two daemons as separate processes on 127.0.0.1, attestations made through the CLI, the page
 * opened by the one-time login URL of `stagex-node open`; the verdict table and the graph are
 * checked in the DOM and photographed (.work/status-page.png), a verdict attested afterwards
 * must appear without a reload, and requests without the session, from another origin or to
 * another host name are refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { cli, makeCluster, startMember, stopMember, until, health, type Member } from '../../scripts/local-network.ts';
import { loadTree } from '../../daemon/tree.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import { openBuildLog, TRUNCATED_MARKER } from '../../daemon/builder/build-log.ts';
import { outputPaths } from '../../daemon/builder/outputs.ts';
import { hex64 } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(ROOT, '.work', 'status-page.png');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (scripts/browser.sh installs Debian's chromium; .ci/run calls it)`;

/** The little of the browser's DOM these checks touch (the project's TypeScript has no DOM types). */
interface Dom {
  marker?: string;
  document: {
    querySelector(selector: string): { getAttribute(name: string): string | null } | null;
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  };
}

/** A plain HTTP GET with chosen headers, as a page on another origin or a rebinding name would send it. */
function get(address: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers, setHost: !('host' in headers) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('status page in headless chromium', { skip, timeout: 300_000 }, () => {
  let members: Member[];
  let alice: Member;
  let bob: Member;
  let context: BrowserContext;
  let page: Page;
  let inputs: Map<string, string>;
  let loginUrl: string;

  const attest = async (member: Member, image: string, digest: string) => {
    const result = await cli('-c', member.config, 'attest', '--image', image, '--input-digest', inputs.get(image)!, '--digest', digest, '--engine-digest', hex64(`e-${digest.slice(0, 4)}`));
    assert.equal(result.code, 0, result.err);
  };

  before(async () => {
    const tree = await loadTree(ROOT);
    inputs = new Map([...inputDigests(tree)].map(([image, byPlatform]) => [image, byPlatform.get('linux/amd64')!]));
    members = await makeCluster(tempDir('stagex-page'), ['alice', 'bob'], 2, { builder: { tree: ROOT } });
    [alice, bob] = members as [Member, Member];
    for (const m of members) startMember(m, ['--no-build']);
    await until('both daemons up and connected', async () => (await health(alice))?.peers === 1 && (await health(bob))?.peers === 1, 60_000);
    // trusted (2 of 2), pending (1 of 2), conflict (two digests)
    await attest(alice, 'bootstrap-stage0', hex64('b0'));
    await attest(bob, 'bootstrap-stage0', hex64('b0'));
    await attest(alice, 'core-filesystem', hex64('f1'));
    await attest(alice, 'core-hello', hex64('a1'));
    await attest(bob, 'core-hello', hex64('a2'));
    await until('alice holds all five envelopes', async () => (await health(alice))?.envelopes === 5, 60_000);
    // A capped build log beside a (pretend) build of core-hello on alice.
    const log = outputPaths(join(alice.dir, 'outputs'), inputs.get('core-hello')!).log;
    await mkdir(join(log, '..'), { recursive: true });
    const writer = openBuildLog(log, 300);
    for (let i = 0; i < 50; i += 1) writer.write({ kind: 'log', step: '[build 1/2] RUN make', stream: 'stdout', line: `compiling part ${i}` });
    await writer.close();

    const open = await cli('-c', alice.config, 'open', '--json');
    assert.equal(open.code, 0, open.err);
    loginUrl = JSON.parse(open.out).url;
    context = await chromium.launchPersistentContext(tempDir('stagex-chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1500, height: 1000 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? await context.newPage();
  });

  after(async () => {
    await context?.close();
    for (const m of members ?? []) await stopMember(m);
  });

  it('logs in once through the URL of `stagex-node open` and renders the verdicts and the graph', async () => {
    await page.goto(loginUrl);
    assert.equal(new URL(page.url()).pathname, '/', 'the login redirects to the page, dropping the secret from the address');
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    const rows = await page.$$eval('#verdicts tbody tr', (trs) => trs.map((tr) => ({ image: tr.getAttribute('data-image'), status: tr.getAttribute('data-status'), text: tr.textContent })));
    const row = (image: string) => rows.find((r) => r.image === image);
    assert.equal(row('bootstrap-stage0')?.status, 'trusted');
    assert.match(row('bootstrap-stage0')!.text!, /alice, bob/);
    assert.equal(row('core-filesystem')?.status, 'pending');
    assert.match(row('core-filesystem')!.text!, /pending 1 of 2/);
    assert.equal(row('core-hello')?.status, 'conflict');
    const nodes = await page.$$eval('#graph g.node', (gs) => gs.map((g) => ({ image: g.getAttribute('data-image'), colour: g.getAttribute('class') })));
    const colour = (image: string) => nodes.find((n) => n.image === image)?.colour;
    assert.deepEqual(nodes.map((n) => n.image).sort(), [...inputs.keys()].sort(), 'one node per image of the tree');
    assert.equal(colour('bootstrap-stage0'), 'node trusted');
    assert.equal(colour('core-filesystem'), 'node pending');
    assert.equal(colour('core-hello'), 'node conflict');
    assert.equal(colour('user-greet'), 'node unknown');
    assert.ok(await page.$$eval('#graph path.edge', (ps) => ps.length) >= 4, 'the dependency edges are drawn');
    assert.equal(await page.textContent('#peers-count'), '1');
    await mkdir(join(ROOT, '.work'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows a verdict attested afterwards without a reload', async () => {
    await page.evaluate(() => { (globalThis as unknown as Dom).marker = 'same document'; });
    await attest(bob, 'core-filesystem', hex64('f1'));
    await page.waitForFunction(() => {
      const { document } = globalThis as unknown as Dom;
      return document.querySelector('#verdicts tr[data-image="core-filesystem"]')?.getAttribute('data-status') === 'trusted'
        && document.querySelector('#graph g.node[data-image="core-filesystem"]')?.getAttribute('class') === 'node trusted';
    }, undefined, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as Dom).marker), 'same document', 'the page was not reloaded');
    await page.waitForFunction(() => Array.from((globalThis as unknown as Dom).document.querySelectorAll('#events td')).some((td) => td.textContent === 'verdict.trusted'), undefined, { timeout: 60_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('serves a build log, capped with its TRUNCATED marker, and refuses a path that is not an input digest', async () => {
    const log = await page.evaluate(async (d) => (await fetch(`/builds/${d}/log`)).text(), inputs.get('core-hello')!);
    assert.match(log, /compiling part 0/);
    assert.ok(log.trimEnd().split('\n').at(-1)!.startsWith(TRUNCATED_MARKER));
    const status = (path: string) => page.evaluate(async (p) => (await fetch(p)).status, path);
    assert.equal(await status('/builds/..%2F..%2Fconfig.json/log'), 400);
    assert.equal(await status(`/builds/${hex64('none')}/log`), 404);
    assert.equal(await status('/builds/%E0%A4%A/log'), 400, 'bad percent-encoding is a bad request, not a failure');
  });

  it('refuses requests without the session, from another origin, to another host name, and a login URL used twice', async () => {
    const address = new URL(loginUrl).host;
    const [cookie] = await context.cookies(`http://${address}`);
    assert.ok(cookie, 'the login set a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    const session = `${cookie.name}=${cookie.value}`;
    assert.equal((await get(address, '/page/verdicts', { cookie: session })).status, 200, 'the session alone reads');
    for (const [what, headers, code] of [
      ['no cookie', {}, 401],
      ['no cookie, the page itself', {}, 401],
      ['another origin', { cookie: session, origin: 'http://evil.example' }, 403],
      ['a cross-site fetch', { cookie: session, 'sec-fetch-site': 'cross-site' }, 403],
      ['a rebound host name', { cookie: session, host: `evil.example:${address.split(':')[1]}` }, 403],
      ['a forged session', { cookie: `${cookie.name}=${'0'.repeat(64)}` }, 401],
    ] as const) {
      const reply = await get(address, what.endsWith('page itself') ? '/' : '/page/verdicts', headers);
      assert.equal(reply.status, code, `${what}: ${reply.body}`);
      assert.doesNotMatch(reply.body, /bootstrap-stage0|<script/, `${what}: no data, no page`);
    }
    assert.equal((await get(address, '/status', { cookie: session, origin: 'http://evil.example' })).status, 403, 'the API routes the page reads are gated alike');
    assert.equal((await get(address, new URL(loginUrl).pathname + new URL(loginUrl).search, {})).status, 401, 'a login URL works once');
    const post = await page.evaluate(async () => (await fetch('/envelopes', { method: 'POST', body: 'x' })).status);
    assert.equal(post, 403, 'a session only reads');
  });
});
