/**
 * The main job, end to end on one machine: four independent reproducers run stagex-node daemons
 * (separate processes, real libp2p on 127.0.0.1, real LevelDB, the real Docker engine), trust
 * each other at 3 of 4, and build the demo tree of packages/ (a busybox bootstrap seed pinned in
 * bootstrap/pins.json, then core-filesystem, core-hello, user-greet and its subpackage
 * user-greet-doc) with sources from a loopback mirror. Rendezvous assignment gives each image 3
 * builders; each attests what it built, gossip and sync bring the votes together, and every node
 * trusts every image at 3 or more of 4. dave starts late and catches up; then carol signs a
 * second digest for an image she built, and every node reports her equivocation. Last, three more
 * reproducers take the real StageX 2025.10.0 tree (../shared): two build its bootstrap-stage0 from
 * the hex0-seed offline, and the third, building nothing, decides the release's
 * digests/bootstrap.txt: bootstrap-stage0 holds at its published digest, nothing else does.
 * Exits non-zero if any outcome differs. Run: npm run demo
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, makeCluster, startMember, status, stopMember, until, type Member } from './local-network.ts';
import { serveMirror } from './mirror.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const WORK = join(ROOT, '.work', 'demo');
/** The port the demo tree's package.toml mirrors name. */
const MIRROR_PORT = 7790;
const IMAGES = ['bootstrap-stage0', 'core-filesystem', 'core-hello', 'user-greet', 'user-greet-doc'];
const step = (text: string) => console.log(`\n== ${text}`);

/** Runs the real CLI as a user would and prints what it prints; returns its exit code and output. */
async function sx(member: Member, args: string[], show = true): Promise<{ code: number; out: string }> {
  const result = await run(process.execPath, [CLI, '-c', member.config, ...args], { maxBuffer: 16 << 20 }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );
  if (show) {
    console.log(`$ stagex-node -c ${member.name}/config.json ${args.join(' ')}`);
    process.stdout.write(result.out + result.err);
  }
  return result;
}

function expect(what: string, ok: boolean): void {
  if (!ok) throw new Error(`demo: expected ${what}`);
  console.log(`   ok: ${what}`);
}

/** The images a member's store trusts, from its daemon's status. */
async function trustedCount(member: Member): Promise<number> {
  return (await status(member))?.store.verdicts.trusted ?? -1;
}

await rm(WORK, { recursive: true, force: true });
await mkdir(WORK, { recursive: true });
step('1. the sources: a mirror on 127.0.0.1 serving the tree\'s upstream tarballs and the busybox seed');
const MIRROR = join(ROOT, '.work', 'mirror');
await run('bash', [join(ROOT, 'scripts', 'demo-mirror.sh'), MIRROR]);
const mirror = await serveMirror(MIRROR, { port: MIRROR_PORT });
console.log(`mirror at ${mirror.url}: ${(await readdir(MIRROR)).join(', ')}`);

step('2. four reproducers: each makes a signing key (0600), a libp2p identity and a config (3 of 4, assign "auto")');
const members = await makeCluster(WORK, ['alice', 'bob', 'carol', 'dave'], 3, {
  networkId: 'demo',
  builder: { tree: ROOT, assign: 'auto', cache: 'cache', outputs: 'outputs' },
});
const [alice, bob, carol, dave] = members as [Member, Member, Member, Member];
await sx(alice, ['plan']);

try {
  step('3. alice, bob and carol start their daemons: each builds its share (and what it needs) through the engine, attests and gossips');
  const early = [alice, bob, carol];
  for (const member of early) startMember(member);
  await until('alice, bob and carol finished building', () => early.every((m) => m.log.some((l) => l.includes('"builder.run"'))), 600_000);
  await until('their stores hold the same attestations', async () => new Set((await Promise.all(early.map(status))).map((s) => s?.store.envelopes)).size === 1, 30_000);
  for (const member of early) {
    const built = member.log.filter((l) => l.includes('"build.built"')).map((l) => JSON.parse(l).image as string);
    console.log(`   ${member.name} built ${built.join(', ')}`);
  }
  console.log('   (an image is trusted once 3 keys attest it; one whose third builder is dave waits for him)');
  await sx(bob, ['query']);

  step('4. dave starts late: sync brings him the others\' attestations while he builds his share; every node trusts all 5');
  startMember(dave);
  await until('all four nodes trust all 5 images', async () => (await Promise.all(members.map(trustedCount))).every((n) => n === IMAGES.length), 600_000);
  await until('dave\'s builder finished', () => dave.log.some((l) => l.includes('"builder.run"')), 600_000);
  await sx(dave, ['plan']);

  step('5. dave exports what he trusts as a release manifest (StageX digests/<stage>.txt); it verifies, and so does an image from the engine');
  const release = join(WORK, 'release');
  await sx(dave, ['export', release]);
  for (const file of (await readdir(join(release, 'digests'))).sort()) process.stdout.write(`digests/${file}:\n${await readFile(join(release, 'digests', file), 'utf8')}`);
  expect('the manifest is trusted (exit 0)', (await sx(dave, ['verify', join(release, 'digests'), '--all'])).code === 0);
  expect('stagex/user-greet:latest in the engine is trusted (exit 0)', (await sx(alice, ['verify', '--image', 'stagex/user-greet:latest'])).code === 0);

  step('6. carol signs a second digest for an image she built: every node reports the equivocation and voids her votes on it');
  const carolVotes = JSON.parse((await sx(carol, ['query', '--key', 'carol', '--json'], false)).out) as { votes: { image: string; inputDigest: string; digest: string }[] };
  const victim = carolVotes.votes.find((v) => v.image === 'user-greet-doc') ?? carolVotes.votes[0]!;
  const forged = 'f'.repeat(64);
  await sx(carol, ['attest', '--image', victim.image, '--input-digest', victim.inputDigest, '--digest', forged]);
  await until('every node reports carol equivocating', async () => (await Promise.all(members.map(status))).every((s) => s?.store.equivocating.includes('carol')), 30_000);
  const verdict = await sx(bob, ['verify', `${victim.image}@sha256:${forged}`]);
  expect(`carol's forged digest is not trusted (exit ${verdict.code})`, verdict.code !== 0);
  await sx(bob, ['status']);
} finally {
  await Promise.all(members.map((m) => stopMember(m)));
  await mirror.close();
}

step('7. the real StageX 2025.10.0 bootstrap-stage0, from its 181-byte hex0-seed: two reproducers build it offline and the release manifest is decided');
const STAGEX = join(ROOT, '..', 'shared', 'stagex-2025.10.0');
const SOURCES = join(ROOT, '..', 'shared', 'stagex-sources');
if (!existsSync(STAGEX) || !existsSync(SOURCES)) {
  console.log(`   skipped: the real tree and its sources are test data kept beside the project (${STAGEX}, ${SOURCES}), and they are absent`);
} else {
  const real = await makeCluster(join(WORK, 'stagex'), ['erin', 'frank', 'grace'], 2, {
    networkId: 'stagex-demo',
    builder: { tree: STAGEX, assign: ['bootstrap-stage0'], pins: join(ROOT, 'bootstrap', 'stagex-2025.10.0.json'), cache: 'cache', outputs: 'outputs' },
  });
  const [erin, frank, grace] = real as [Member, Member, Member];
  for (const member of [erin, frank]) await sx(member, ['sources', 'add', SOURCES]);
  try {
    console.log('   erin and frank build bootstrap-stage0 through Docker and the release\'s own recipe (src/targets.py), offline;');
    console.log('   this takes a few minutes (about 4 on 2 cores, both at once); grace builds nothing and only listens');
    for (const member of [erin, frank]) startMember(member);
    startMember(grace, ['--no-build']);
    await until('erin and frank built bootstrap-stage0', () => [erin, frank].every((m) => m.log.some((l) => l.includes('"builder.run"'))), 1_800_000);
    await until('grace holds both attestations', async () => (await status(grace))?.store.verdicts.trusted === 1, 60_000);
    const manifest = join(STAGEX, 'digests', 'bootstrap.txt');
    const verdict = await sx(grace, ['verify', manifest, '--all']);
    expect('the manifest is not trusted as a whole (exit 1): only bootstrap-stage0 was reproduced', verdict.code === 1);
    expect('bootstrap-stage0 holds at its published digest 5cda9822...e51b', /bootstrap-stage0\s+5cda98227cbf\S*\s+trusted/.test(verdict.out));
    await sx(grace, ['query', '--image', 'bootstrap-stage0']);
  } finally {
    await Promise.all(real.map((m) => stopMember(m)));
  }
}
console.log(`\ndemo finished: configs, stores, outputs and daemon logs (<name>/daemon.log) are in ${WORK}`);
