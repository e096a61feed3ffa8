/**
 * The main job, end to end on one machine: four independent reproducers run stagex-node
 * daemons (separate processes, real libp2p on 127.0.0.1, real LevelDB), trust each other at
 * 3 of 4, attest what they reproduced, gossip and sync the attestations, and decide a release
 * manifest. carol's build of one image differs: every node reports the conflict. dave is
 * offline for a while and catches up through sync. Exits non-zero if any outcome differs.
 * Run: npm run demo
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, makeCluster, startMember, status, stopMember, until, type Member } from './local-network.ts';

const run = promisify(execFile);
const WORK = join(process.cwd(), '.work', 'demo');
const digest = (label: string) => createHash('sha256').update(label).digest('hex');
const step = (text: string) => console.log(`\n== ${text}`);

/** Runs the real CLI as a user would and prints what it prints; returns its exit code. */
async function sx(member: Member, args: string[], show = true): Promise<number> {
  const result = await run(process.execPath, [CLI, '-c', member.config, ...args]).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );
  if (show) {
    console.log(`$ stagex-node -c ${member.name}/config.json ${args.join(' ')}`);
    process.stdout.write(result.out + result.err);
  }
  return result.code;
}

function expect(what: string, ok: boolean): void {
  if (!ok) throw new Error(`demo: expected ${what}`);
  console.log(`   ok: ${what}`);
}

const release = [
  { image: 'core-busybox', version: '1.36.1' },
  { image: 'core-make', version: '4.4.1' },
  { image: 'user-hello', version: '2.12.1' },
];

async function attest(member: Member, image: string, version: string, out: string): Promise<void> {
  const code = await sx(member, ['attest', '--image', image, '--version', version, '--input-digest', digest(`input ${image}`), '--digest', out], false);
  if (code !== 0) throw new Error(`${member.name} could not attest ${image}`);
}

await rm(WORK, { recursive: true, force: true });
await mkdir(WORK, { recursive: true });
step('1. four reproducers: each makes a signing key (0600), a libp2p identity and a config (3 of 4)');
const members = await makeCluster(WORK, ['alice', 'bob', 'carol', 'dave'], 3, { networkId: 'demo' });
const [alice, bob, carol, dave] = members as [Member, Member, Member, Member];
await sx(alice, ['keys']);

try {
  step('2. each starts its daemon; bootstrap peers form a ring on 127.0.0.1');
  members.forEach((m) => startMember(m));
  await until('every daemon has a peer', async () => (await Promise.all(members.map(status))).every((s) => s?.peers >= 1), 30_000);
  await new Promise((r) => setTimeout(r, 1500));
  await sx(bob, ['peers']);

  step('3. the release manifest (StageX digests/<stage>.txt lines)');
  const manifest = join(WORK, 'release');
  await mkdir(manifest);
  await writeFile(join(manifest, 'core.txt'), release.filter((r) => r.image.startsWith('core')).map((r) => `${digest(`output ${r.image}`)} ${r.image}\n`).join(''));
  await writeFile(join(manifest, 'user.txt'), release.filter((r) => r.image.startsWith('user')).map((r) => `${digest(`output ${r.image}`)} ${r.image}\n`).join(''));
  for (const file of ['core.txt', 'user.txt']) process.stdout.write(`${file}:\n${await readFile(join(manifest, file), 'utf8')}`);

  step('4. each reproducer attests the digests it got; carol\'s user-hello differs; gossip carries them');
  for (const member of members) {
    for (const { image, version } of release) {
      await attest(member, image, version, member === carol && image === 'user-hello' ? digest('carol hello') : digest(`output ${image}`));
    }
  }
  await until('every node stored all 12 attestations', async () => (await Promise.all(members.map(status))).every((s) => s.store.envelopes === 12));

  step('5. every node decides the manifest alike: 2 entries trusted at 3-4 of 4, user-hello in CONFLICT');
  const codes = [];
  for (const member of members) codes.push(await sx(member, ['verify', manifest, '--all'], member === bob));
  expect('verify exits 2 (conflict) on all four nodes', codes.every((c) => c === 2));
  await sx(dave, ['query', '--image', 'user-hello']);

  step('6. dave goes offline; the others reproduce core-zlib; dave restarts and catches up through sync');
  expect('dave stops cleanly on SIGTERM', (await stopMember(dave)) === 0);
  for (const member of [alice, bob, carol]) await attest(member, 'core-zlib', '1.3.1', digest('output core-zlib'));
  startMember(dave);
  await until('dave has the 3 new attestations', async () => (await status(dave))?.store.envelopes === 15, 30_000);
  expect('dave trusts core-zlib (exit 0)', (await sx(dave, ['verify', `core-zlib@sha256:${digest('output core-zlib')}`])) === 0);
  await sx(dave, ['status']);
} finally {
  await Promise.all(members.map((m) => stopMember(m)));
}
console.log(`\ndemo finished: configs, stores and daemon logs (<name>/daemon.log) are in ${WORK}`);
