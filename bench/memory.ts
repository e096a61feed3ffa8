/**
 * Memory of a daemon holding N envelopes (issue 11: < 300 MB idle and after `/status`, query and
 * sync; answers within 2 s of start). Daemon A's store is filled with N envelopes (bench/
 * fill-store.ts), then A starts and its resident set (VmRSS, with its anonymous and file-backed
 * parts, /proc/<pid>/status) is printed beside the target: at its first answer, once its hash
 * index has loaded, idle, after `/status`, after a query, at its peak while an empty daemon B
 * syncs from it, and after that sync once A has released its mapped tables and V8's pooled pages
 * (daemon/table-cache.ts, daemon/heap-release.ts: the collection's pause and RSS before and after
 * are printed from A's log). Anchor: the same
 * daemon with an empty store, whose RSS each row is also compared with.
 * Run: node bench/memory.ts [N] [dir] [--sync-seconds S | --sync-envelopes K] [--force]
 *   dir keeps the filled store for the next run (B's store is emptied at each run);
 *   --sync-seconds: how long B syncs (default 120; 0: until B holds all N);
 *   --sync-envelopes: until B holds K (what A serves does not then depend on the machine's load).
 * The daemons run with their memory settings (daemon/runtime-tuning.ts); to compare without
 * one, choose it: NODE_OPTIONS=--max-semi-space-size=16 (V8's default), --no-expose-gc (no
 * last-resort collections); GLIBC_TUNABLES=glibc.malloc.mmap_threshold=<bytes> fixes glibc's
 * mmap threshold (by default it rises to the largest block freed).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, health, makeCluster, startMember, status, stopMember, until, type Member } from '../scripts/local-network.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { fillStore } from './fill-store.ts';
import { quietMachine } from './quiet.ts';

const { mark } = quietMachine();
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--sync-seconds' && all[i - 1] !== '--sync-envelopes');
const N = Number(positional[0] ?? 1_000_000);
const root = positional[1] ?? tempDir('stagex-memory');
const syncArg = process.argv.indexOf('--sync-seconds');
const envelopesArg = process.argv.indexOf('--sync-envelopes');
const syncEnvelopes = envelopesArg > 0 ? Number(process.argv[envelopesArg + 1]) : 0;
const syncSeconds = syncEnvelopes > 0 ? 0 : syncArg > 0 ? Number(process.argv[syncArg + 1]) : 120;

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

interface Rss { total: number; anon: number; file: number }

/** VmRSS and its anonymous and file-backed (mapped files: the node binary, LevelDB's tables) parts, in MB. */
const rssOf = async (m: Member): Promise<Rss> => {
  const lines = (await readFile(`/proc/${m.process!.pid}/status`, 'utf8')).split('\n');
  const kb = (key: string) => Number(lines.find((l) => l.startsWith(`${key}:`))!.split(/\s+/)[1]) / 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
};

/**
 * `m`'s anonymous resident memory by mapping kind, MB (/proc/<pid>/smaps): glibc's main malloc
 * heap ([heap], where a served sync's freed C chunks stay) and the unnamed mappings (V8's heap
 * pages, glibc's other arenas, mmapped chunks, thread stacks).
 */
const anonOf = async (m: Member): Promise<string> => {
  const kb = { heap: 0, unnamed: 0 };
  let kind: keyof typeof kb | undefined;
  for (const line of (await readFile(`/proc/${m.process!.pid}/smaps`, 'utf8')).split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) kind = mapping[1] === '[heap]' ? 'heap' : mapping[1] === '' ? 'unnamed' : undefined;
    else if (kind && line.startsWith('Rss:')) kb[kind] += Number(line.split(/\s+/)[1]);
  }
  return `[heap] ${(kb.heap / 1024).toFixed(0)} MB, unnamed anonymous ${(kb.unnamed / 1024).toFixed(0)} MB`;
};

/** CPU seconds (user + system) `m`'s process has used, from /proc/<pid>/stat: a figure the machine's load does not change. */
const cpuOf = async (m: Member): Promise<number> => {
  const fields = (await readFile(`/proc/${m.process!.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** Starts `m` and returns ms from spawn to its first /health answer. */
async function start(m: Member): Promise<number> {
  const t = performance.now();
  startMember(m);
  await until(`${m.name} answers`, async () => (await health(m)) !== undefined, 120_000);
  return performance.now() - t;
}

/** The fields of the last line of `m`'s log with this event (and `text`), once there is one. */
async function logged(m: Member, event: string, ms: number, text = ''): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await until(`${m.name} logs ${event} ${text}`, () => {
    const line = m.log.findLast((l) => l.includes(`"event":"${event}"`) && l.includes(text));
    found = line ? JSON.parse(line) : undefined;
    return found !== undefined;
  }, ms);
  return found!;
}

/** Average size of the store's table files (LevelDB maps whole tables: the size bounds what 64 cached ones can map). */
async function tableMb(m: Member): Promise<string> {
  const dir = join(m.dir, 'store');
  const tables = (await readdir(dir)).filter((f) => f.endsWith('.ldb'));
  const sizes = await Promise.all(tables.map(async (f) => (await stat(join(dir, f))).size));
  return `${tables.length} tables, ${(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length) / 1e6).toFixed(2)} MB each on average`;
}

const [a, b, empty] = await cluster();
let anchor: Rss = { total: 0, anon: 0, file: 0 };
const row = (what: string, r: Rss, target = '< 300 MB') => {
  const above = anchor.total ? `  (+${(r.total - anchor.total).toFixed(0)} over the empty daemon)` : '';
  console.log(`${what.padEnd(40)} ${r.total.toFixed(0).padStart(5)} MB  target ${target.padEnd(9)} anon ${r.anon.toFixed(0).padStart(4)} + file ${r.file.toFixed(0).padStart(4)}${above}${mark}`);
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const emptyStart = await start(empty!);
await pause(5000);
anchor = await rssOf(empty!);
row('anchor: a daemon with an empty store', anchor, 'the floor');
await stopMember(empty!);

console.log(`A's store: ${N} envelopes, ${await tableMb(a!)}`);
const firstAnswer = await start(a!);
row('A: at its first answer', await rssOf(a!));
const ready = await logged(a!, 'index.ready', 300_000);
row('A: index loaded', await rssOf(a!));
const startUp = await logged(a!, 'store.tables_released', 120_000, 'start-up scans done');
await pause(10_000);
row('A: idle 10 s later', await rssOf(a!));
console.log(`  A's anonymous memory by mapping (smaps): ${await anonOf(a!)}`);
const s0 = performance.now();
const st = await status(a!);
const statusMs = performance.now() - s0;
row('A: after /status', await rssOf(a!));
const q = await cli('-c', a!.config, 'query', '--image', `core-p${Math.floor(N / 2)}`, '--json');
if (q.code !== 0) throw new Error(q.err);
row('A: after a query', await rssOf(a!));

await rm(join(b!.dir, 'store'), { recursive: true, force: true });
// B dials A; its own p2p port is any free one (a saved fixed one may have been taken since).
const bConfig = JSON.parse(await readFile(b!.config, 'utf8'));
await writeFile(b!.config, JSON.stringify({ ...bConfig, network: { ...bConfig.network, listen: ['/ip4/127.0.0.1/tcp/0'] } }, null, 2));
let peak: Rss = { total: 0, anon: 0, file: 0 };
const watch = async () => {
  const now = await rssOf(a!);
  if (now.total > peak.total) peak = now;
};
const t = performance.now();
const cpuBefore = await cpuOf(a!);
startMember(b!);
const synced = async () => (await health(b!).catch(() => undefined))?.envelopes ?? 0;
await until('b synced long enough', async () => {
  await watch();
  return syncSeconds > 0 ? performance.now() - t > syncSeconds * 1000 : (await synced()) >= (syncEnvelopes || N);
}, syncSeconds > 0 ? syncSeconds * 1000 + 60_000 : 3_600_000);
const got = await synced();
const syncS = (performance.now() - t) / 1000;
const [servedCpu, receivedCpu] = [(await cpuOf(a!)) - cpuBefore, await cpuOf(b!)];
row('A: peak while B syncs from it', peak);
row(syncSeconds > 0 ? `B: after ${syncSeconds} s of sync` : syncEnvelopes > 0 ? `B: after syncing ${syncEnvelopes}` : 'B: after syncing everything', await rssOf(b!), '-');
await stopMember(b!);
const released = await logged(a!, 'store.tables_released', 120_000, 'sync quiet');
row('A: after the sync, tables released', await rssOf(a!));
console.log(`  A's anonymous memory by mapping (smaps): ${await anonOf(a!)}`);
const collected = (r: Record<string, unknown>) => r.gc === 'last-resort' ? `RSS ${r.rssMb} -> ${r.rssAfterGcMb} MB, paused ${r.gcMs} ms (${r.gcCpuMs} ms CPU)` : `none (${r.gc ?? 'not in this version'}, RSS ${r.rssMb ?? '?'} MB)`;
console.log(`  A's last-resort GC after the start-up scans: ${collected(startUp)}; after the sync: ${collected(released)}${mark}`);
console.log(`first answer ${(firstAnswer / 1000).toFixed(2)} s after start (target < 2 s; empty store: ${(emptyStart / 1000).toFixed(2)} s); hash index loaded in ${(Number(ready.ms) / 1000).toFixed(2)} s${mark}`);
console.log(`/status answered in ${statusMs.toFixed(0)} ms (${st.store.envelopes} envelopes, ${st.store.identities} identities); B got ${got} envelopes in ${syncS.toFixed(1)} s (${(got / syncS).toFixed(0)}/s)${mark}`);
console.log(`CPU per 1000 envelopes synced: A (serving) ${(servedCpu * 1e6 / Math.max(1, got)).toFixed(0)} ms, B (receiving, from its start) ${(receivedCpu * 1e6 / Math.max(1, got)).toFixed(0)} ms`);
await stopMember(a!);
