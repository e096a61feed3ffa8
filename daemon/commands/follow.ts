/**
 * `stagex-node build --follow <image>`: streams the running daemon's build of one image: waits
 * while it is queued, prints its log as it grows (GET /builds/<input digest>/log?follow=true,
 * asked again from where it got to: daemon/page/build-log-route.ts), then its outcome. Exit 3
 * when the build failed or was blocked.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, type CommandEnv } from './env.ts';
import { askDaemon, daemonRunning, localApi, streamApi } from '../client.ts';
import type { NodeContext } from '../context.ts';
import { DaemonError } from '../errors.ts';
import type { BuildEntry } from '../page/activity.ts';

const POLL_MS = 1000;

export async function followBuild(env: CommandEnv, context: NodeContext, image: string): Promise<void> {
  const api = await localApi(context.config);
  if (!(await daemonRunning(api))) throw new DaemonError('NOT_FOUND', `build --follow: no daemon of this config answers on ${context.config.api.listen}; start one with \`stagex-node start\``);
  const builds = async () => ((await askDaemon<{ builds: BuildEntry[] }>(context, '/page/activity'))?.builds ?? []).filter((b) => b.image === image);
  let build: BuildEntry | undefined;
  for (let told = false; ; told = true) {
    const mine = await builds();
    if (mine.length === 0) throw new DaemonError('NOT_FOUND', `build --follow: the daemon's builder has no build of ${image} in this run (not assigned here, or not planned yet); \`stagex-node build ${image}\` builds it in this process`);
    build = mine.find((b) => b.state === 'running') ?? mine.find((b) => b.state !== 'queued');
    if (build) break;
    if (!told) env.io.err(`${image}: queued; waiting for its build to start`);
    await sleep(POLL_MS);
  }
  const { inputDigest } = build;
  if (inputDigest === undefined) throw new DaemonError('NOT_FOUND', `build --follow: the daemon knows no input digest of ${image}'s build`);
  let offset = 0;
  for (;;) {
    await streamApi(api, `/builds/${inputDigest}/log?follow=true&from=${offset}`, async (line) => {
      env.io.out(line);
      offset += Buffer.byteLength(line) + 1;
    }).catch((error: unknown) => {
      // A build that never wrote a log (reused, or blocked before it started) has none to show.
      if (!(error instanceof DaemonError && error.code === 'NOT_FOUND')) throw error;
    });
    const now = (await builds()).find((b) => b.inputDigest === inputDigest);
    if (now?.state === 'running') continue;
    env.io.err(`${image} (${build.platform}): ${now?.state ?? 'no longer in the daemon\'s plan'}${now?.reason ? `: ${now.reason}` : ''}${now?.digest ? ` ${now.digest}` : ''}`);
    if (now?.state === 'failed' || now?.state === 'blocked') env.setExit(EXIT.error);
    return;
  }
}
