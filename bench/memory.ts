/**
 * Memory of a daemon holding N envelopes (issue 11: < 300 MB idle and after `/status`, query and
 * sync; answers within 2 s of start). Daemon A's store is filled with N envelopes (bench/
 * fill-store.ts), then A starts and its resident set (VmRSS, /proc) is printed: at its first
 * answer, idle, after `/status`, after a query, and the peak while an empty daemon B syncs
 * everything from it. Anchor: the same daemon with an empty store.
 * Run: node bench/memory.ts [N] [dir] [--force]   (a dir keeps the filled cluster for the next run)
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, health, makeCluster, startMember, status, stopMember, until, type Member } from '../scripts/local-network.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { fillStore } from './fill-store.ts';
import { quietMachine } from './quiet.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const root = process.argv[3] ?? tempDir('stagex-memory');
const { mark } = quietMachine();

async function cluster(): Promise<Member[]> {
  const saved = join(root, `cluster-${N}.json`);
  if (existsSync(saved)) return (JSON.parse(await readFile(saved, 'utf8')) as Member[]).map((m) => ({ ...m, log: [] }));
  await mkdir(root, { recursive: true });
  const members = await makeCluster(join(root, String(N)), ['a', 'b', 'empty'], 1, { networkId: 'bench', bootstrapOf: (i) => (i === 1 ? [0] : []) });
  console.log(`filling a's store with ${N} envelopes...`);
  const t = performance.now();
  const bytes = await fillStore(members[0]!, members, N);
  console.log(`  ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await writeFile(saved, JSON.stringify(members.map(({ process: _, log: __, ...m }) => m)));
  return members;
}

const rssMb = async (m: Member): Promise<number> => {
  const line = (await readFile(`/proc/${m.process!.pid}/status`, 'utf8')).split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
};

/** Starts `m` and returns ms from spawn to its first /health answer. */
async function start(m: Member): Promise<number> {
  const t = performance.now();
  startMember(m);
  await until(`${m.name} answers`, async () => (await health(m)) !== undefined, 120_000);
  return performance.now() - t;
}

const [a, b, empty] = await cluster();
const row = (what: string, mb: number, target = '< 300 MB') => console.log(`${what.padEnd(34)} ${mb.toFixed(0).padStart(6)} MB   target ${target}${mark}`);

const emptyStart = await start(empty!);
await new Promise((r) => setTimeout(r, 5000));
const anchor = await rssMb(empty!);
await stopMember(empty!);

const firstAnswer = await start(a!);
row('A: at its first answer', await rssMb(a!));
await new Promise((r) => setTimeout(r, 10_000));
row('A: idle 10 s', await rssMb(a!));
const s0 = performance.now();
const st = await status(a!);
const statusMs = performance.now() - s0;
row('A: after /status', await rssMb(a!));
const q = await cli('-c', a!.config, 'query', '--image', `core-p${Math.floor(N / 2)}`, '--json');
if (q.code !== 0) throw new Error(q.err);
row('A: after a query', await rssMb(a!));
let peak = 0;
const t = performance.now();
startMember(b!);
await until('b stored everything', async () => {
  peak = Math.max(peak, await rssMb(a!));
  return (await health(b!))?.envelopes === N;
}, 1_800_000);
const syncS = (performance.now() - t) / 1000;
row('A: peak while B syncs everything', peak);
row('B: after syncing everything', await rssMb(b!));
row('anchor: a daemon with an empty store', anchor, 'the floor');
console.log(`first answer ${(firstAnswer / 1000).toFixed(2)} s after start (target < 2 s; empty store: ${(emptyStart / 1000).toFixed(2)} s)${mark}`);
console.log(`/status answered in ${statusMs.toFixed(0)} ms (${st.store.envelopes} envelopes, ${st.store.identities} identities); sync of ${N} took ${syncS.toFixed(1)} s${mark}`);
await Promise.all([stopMember(a!), stopMember(b!)]);
