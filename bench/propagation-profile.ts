/**
 * The CPU split of one daemon's `--cpu-prof` profile (bench/propagation.ts --profile=DIR): share
 * of the samples by area (gossipsub heartbeat, gossipsub, other libp2p, sync, validation,
 * store, logging, ...), each sample given to the area of its innermost frame that has one
 * (Node's own code and builtins count for the code that called them: noise's cipher calls for
 * noise, an ed25519 verify for validation, JSON.stringify for logging).
 * Run: node bench/propagation-profile.ts FILE.cpuprofile [--last=SECONDS] (only the samples of
 * the profile's last SECONDS: the run and the stop, not the start-up).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Areas by source path, first match wins; a frame with none is passed to its caller. */
const AREAS: [string, RegExp][] = [
  ['sync', /daemon\/net\/(sync|sync-budget|hash-index)\.ts/],
  ['gossip validation', /daemon\/net\/(gossip|gossip-budget)\.ts|protocol\/|verify-pool|verify-worker/],
  ['store', /\/store\/|classic-level|abstract-level|\/level/],
  ['logging', /daemon\/log\.ts|page\/activity\.ts/],
  ['verdicts', /status-board\.ts|daemon\/node\.ts/],
  ['local API', /daemon\/(api|api-request|api-auth|client)\.ts/],
  ['gossipsub', /@libp2p\/gossipsub|@chainsafe\/libp2p-gossipsub/],
  ['yamux / noise / tcp', /@libp2p\/(yamux|tcp)|libp2p-noise|@chainsafe\/as-chacha20poly1305|@noble\/ciphers|@noble\/hashes/],
  ['other libp2p', /libp2p|it-|uint8arraylist|protons|multiformats|p-queue|race-signal|main-event/],
];

const [file, ...flags] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/propagation-profile.ts FILE.cpuprofile [--last=SECONDS]');
const last = Number(flags.find((f) => f.startsWith('--last='))?.slice('--last='.length) ?? Infinity) * 1e6;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** The area of a node: its own frame's, its caller's, ...; heartbeat work is told apart from the rest of gossipsub. */
const areaCache = new Map<number, string>();
function areaOf(id: number): string {
  const cached = areaCache.get(id);
  if (cached) return cached;
  const { functionName, url } = byId.get(id)!.callFrame;
  let area: string;
  if (['(garbage collector)', '(idle)', '(program)'].includes(functionName)) area = functionName;
  else {
    const own = url ? AREAS.find(([, re]) => re.test(url))?.[0] : undefined;
    const up = parent.get(id);
    area = own ?? (up === undefined || byId.get(up)!.callFrame.functionName === '(root)' ? 'other' : areaOf(up));
  }
  if (area === 'gossipsub' && hasAncestor(id, (f) => f.functionName === 'heartbeat' && /gossipsub/.test(f.url))) area = 'gossipsub heartbeat';
  areaCache.set(id, area);
  return area;
}

function hasAncestor(id: number, test: (frame: ProfileNode['callFrame']) => boolean): boolean {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) if (test(byId.get(at)!.callFrame)) return true;
  return false;
}

const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
/** Per area: time (each sample weighted by the interval after it) and the count of samples. */
const totals = new Map<string, { us: number; samples: number }>();
let elapsed = 0;
profile.samples.forEach((id, i) => {
  elapsed += profile.timeDeltas[i]!;
  if (total - elapsed > last) return;
  const area = areaOf(id);
  const sum = totals.get(area) ?? { us: 0, samples: 0 };
  sum.us += profile.timeDeltas[i + 1] ?? 0;
  sum.samples += 1;
  totals.set(area, sum);
});
const busy = [...totals].filter(([a]) => a !== '(idle)').sort((a, b) => b[1].us - a[1].us);
const busyUs = busy.reduce((s, [, t]) => s + t.us, 0);
const busySamples = busy.reduce((s, [, t]) => s + t.samples, 0);
console.log(`${file}: ${(busyUs / 1e3).toFixed(0)} ms busy of ${(Math.min(total, last) / 1e6).toFixed(1)} s profiled, ${busySamples} busy samples`);
// On an oversubscribed machine the sampler's intervals stretch (1-48 ms with 20 daemons on 2
// cores) and a sample lands where the thread next runs: the count of samples, beside the time,
// tells waiting for a core apart from computing.
console.log(`${'area'.padEnd(22)} ${'time'.padStart(10)} ${'share'.padStart(7)} ${'samples'.padStart(8)}`);
for (const [area, t] of busy) {
  console.log(`${area.padEnd(22)} ${(t.us / 1e3).toFixed(0).padStart(7)} ms ${((100 * t.us) / busyUs).toFixed(1).padStart(5)} % ${((100 * t.samples) / busySamples).toFixed(1).padStart(6)} %`);
}
