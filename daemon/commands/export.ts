/**
 * `stagex-node export`: stored envelopes as files, and StageX digests files of what is trusted.
 * With a daemon running, through its local API (it holds the store); else from the store.
 * `--bundle` also writes `attestations.intoto.jsonl`: the in-toto bundle format (one DSSE
 * envelope per line, as SLSA's `.intoto.jsonl` files), which any in-toto/DSSE verifier reads.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { loadContext, withStore } from '../context.ts';
import { daemonQuery, daemonRunning, localApi, streamApi } from '../client.ts';
import { DaemonError } from '../errors.ts';
import { trustedDigests, verdictsFor } from '../../store/queries.ts';
import type { Verdict } from '../../protocol/threshold.ts';
import { configPath } from './args.ts';

const HASH = /^[0-9a-f]{64}$/;
export const BUNDLE_FILE = 'attestations.intoto.jsonl';

/** One envelope as a bundle line: stored envelopes are canonical compact JSON, with no newline. */
const bundleLine = (bytes: Uint8Array): Buffer => Buffer.concat([bytes, Buffer.from('\n')]);

export function registerExport(program: Command, env: CommandEnv): void {
  program
    .command('export')
    .description('write every stored envelope to <dir>/envelopes/<hash>.json and trusted digests to <dir>/digests/<stage>.txt')
    .argument('<dir>', 'output directory')
    .option('--bundle', `also write every envelope to <dir>/${BUNDLE_FILE} (in-toto bundle: one DSSE envelope per line)`)
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean; bundle?: boolean }, command: Command) => {
      const context = await loadContext(configPath(command));
      const api = await localApi(context.config);
      await mkdir(join(dir, 'envelopes'), { recursive: true });
      const bundle = options.bundle ? createWriteStream(join(dir, BUNDLE_FILE)) : undefined;
      let envelopes = 0;
      const write = async (hash: string, bytes: Uint8Array) => {
        await writeFile(join(dir, 'envelopes', `${hash}.json`), bytes);
        if (bundle && !bundle.write(bundleLine(bytes))) await new Promise<void>((resolve) => bundle.once('drain', () => resolve()));
        envelopes += 1;
      };
      let verdicts: Verdict[];
      if (await daemonRunning(api)) {
        await streamApi(api, '/envelopes', async (line) => {
          const { hash, envelope } = JSON.parse(line) as { hash?: unknown; envelope?: unknown };
          if (typeof hash !== 'string' || !HASH.test(hash) || typeof envelope !== 'string') throw new DaemonError('NOT_FOUND', `daemon on ${api.listen}: expected {"hash","envelope"} lines from GET /envelopes, got ${line.slice(0, 80)}`);
          await write(hash, Buffer.from(envelope, 'base64'));
        });
        const answer = await daemonQuery(api, {});
        verdicts = answer.kind === 'verdicts' ? answer.verdicts : [];
      } else {
        verdicts = await withStore(context, async (store) => {
          for await (const hash of store.hashes()) {
            const bytes = await store.get(hash);
            if (bytes) await write(hash, bytes);
          }
          return (await verdictsFor(store, context.policy)).verdicts;
        });
      }
      if (bundle) {
        bundle.end();
        await finished(bundle);
      }
      const trusted = trustedDigests(verdicts);
      const byStage = new Map<string, string[]>();
      for (const [image, digest] of [...trusted].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const stage = image.slice(0, image.indexOf('-'));
        byStage.set(stage, [...(byStage.get(stage) ?? []), `${digest} ${image}`]);
      }
      await mkdir(join(dir, 'digests'), { recursive: true });
      for (const [stage, lines] of byStage) await writeFile(join(dir, 'digests', `${stage}.txt`), lines.join('\n') + '\n');
      const summary = { envelopes, trusted: trusted.size, ...(bundle ? { bundle: join(dir, BUNDLE_FILE) } : {}) };
      env.io.out(options.json ? JSON.stringify(summary) : `exported ${summary.envelopes} envelopes${bundle ? ` (also as ${BUNDLE_FILE})` : ''} and ${summary.trusted} trusted digests to ${dir}`);
    });
}
