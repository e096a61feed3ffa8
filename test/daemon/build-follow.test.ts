/**
 * `build --follow` and GET /builds/<input digest>/log over a real local API: a build's log is
 * followed from queued to finished while it is written (every line once, in order), a path
 * parameter that is not an input digest is refused, and a finished log is served whole.
 * The builder here is its log events (activity.ts is fed as the scheduler would feed it).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startApi, type ApiHandlers, type RunningApi } from '../../daemon/api.ts';
import { writeApiToken, type ApiToken } from '../../daemon/api-token.ts';
import { openBuildLog } from '../../daemon/builder/build-log.ts';
import { outputPaths } from '../../daemon/builder/outputs.ts';
import { callApi } from '../../daemon/client.ts';
import { EXIT, type CommandEnv } from '../../daemon/commands/env.ts';
import { followBuild } from '../../daemon/commands/follow.ts';
import type { NodeContext } from '../../daemon/context.ts';
import { Activity } from '../../daemon/page/activity.ts';
import { PageServer } from '../../daemon/page/server.ts';
import { until } from '../../scripts/local-network.ts';
import { hex64 } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('build --follow', () => {
  const dir = tempDir('stagex-follow');
  const outputs = join(dir, 'outputs');
  const activity = new Activity();
  const step = { image: 'core-hello', platform: 'linux/amd64', inputDigest: hex64('in') };
  let token: ApiToken;
  let api: RunningApi;
  let context: NodeContext;

  before(async () => {
    token = await writeApiToken(dir);
    const page = new PageServer({ token: token.token, activity, verdicts: async () => ({}), graph: async () => ({ tree: '', nodes: [], errors: [] }), outputs });
    const handlers = { health: () => ({ envelopes: 0, peers: 0 }) } as unknown as ApiHandlers;
    api = await startApi('127.0.0.1:0', handlers, token.token, page);
    context = { config: { api: { listen: api.address }, dir } } as unknown as NodeContext;
  });
  after(async () => {
    await api.close();
    await token.remove();
  });

  it('waits while queued, prints every line of the log once as it is written, then the outcome', async () => {
    activity.record('builder.plan', { steps: [step] }, 'debug');
    const out: string[] = [];
    let err = '';
    let code: number = EXIT.ok;
    const env: CommandEnv = { io: { out: (t) => { out.push(t); }, err: (t) => { err += `${t}\n`; } }, setExit: (c) => { code = c; } };
    const following = followBuild(env, context, 'core-hello');
    await until('the follower says the build is queued', () => err.includes('queued'));

    activity.record('build.started', step);
    const path = outputPaths(outputs, step.inputDigest).log;
    await mkdir(join(path, '..'), { recursive: true });
    const log = openBuildLog(path);
    const lines = Array.from({ length: 30 }, (_, i) => `compiling part ${i}`);
    for (const [i, line] of lines.entries()) {
      log.write({ kind: 'log', step: '', stream: 'stdout', line });
      if (i % 10 === 9) await until(`the follower printed line ${i}`, () => out.length === i + 1);
    }
    await log.close();
    activity.record('build.failed', { ...step, code: 'BUILD_FAILED', reason: 'make: error 2' });
    await following;
    assert.deepEqual(out, lines);
    assert.match(err, /core-hello \(linux\/amd64\): failed: make: error 2/);
    assert.equal(code, EXIT.error);
  });

  it('serves a finished log whole, and from a byte offset', async () => {
    const read = async (path: string) => (await callApi({ listen: api.address, token: token.token }, 'GET', path))!;
    const whole = await read(`/builds/${step.inputDigest}/log`);
    assert.equal(whole.status, 200);
    assert.equal(whole.body.split('\n')[0], 'compiling part 0');
    const tail = await read(`/builds/${step.inputDigest}/log?from=${'compiling part 0\n'.length}`);
    assert.equal(tail.body.split('\n')[0], 'compiling part 1');
  });

  for (const [what, path, status] of [
    ['a path that is not an input digest', '/builds/..%2F..%2Fapi.token/log', 400],
    ['an upper-case digest', `/builds/${hex64('in').toUpperCase()}/log`, 400],
    ['a negative offset', `/builds/${hex64('in')}/log?from=-1`, 400],
    ['an unknown parameter', `/builds/${hex64('in')}/log?tail=5`, 400],
    ['a digest never built here', `/builds/${hex64('never')}/log`, 404],
  ] as const) {
    it(`refuses ${what} with ${status}`, async () => {
      const reply = (await callApi({ listen: api.address, token: token.token }, 'GET', path))!;
      assert.equal(reply.status, status, reply.body);
      assert.doesNotMatch(reply.body, /compiling/);
    });
  }

  it('says so when the daemon plans no build of the image', async () => {
    const env: CommandEnv = { io: { out: () => undefined, err: () => undefined }, setExit: () => undefined };
    await assert.rejects(followBuild(env, context, 'core-nothing'), { code: 'NOT_FOUND' });
  });
});
