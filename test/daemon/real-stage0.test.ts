/**
 * The real StageX 2025.10.0 `bootstrap-stage0`, reproduced as a reproducer would (issue 9): its
 * six sources put into the cache from a directory (`sources add`, the air-gapped path), built
 * offline from the 181-byte hex0-seed through Docker and the release's own recipe, by two
 * reproducers with no shared cache. Both get the same canonical digest and StageX's published
 * digest, and with both attestations (2 of 3) the release manifest holds for bootstrap-stage0 and
 * for nothing else. About 4 minutes on 2 cores: the two builds run at the same time. Skips, saying why, without the shared tree
 * and sources, a Docker engine that can make StageX's OCI export, or a kernel that runs i386.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkedEngine } from '../../daemon/builder/prepare.ts';
import { runnablePlatforms } from '../../daemon/builder/platforms.ts';
import { parseConfig } from '../../daemon/config.ts';
import { cli } from '../../scripts/local-network.ts';
import { reproducer } from '../helpers/demo-tree.ts';
import { STAGEX_DIGESTS, STAGEX_TREE, skipWithoutTree } from '../helpers/shared.ts';
import { tempDir } from '../helpers/tmp.ts';

const SOURCES = join(STAGEX_TREE, '..', 'stagex-sources');
const PINS = join(import.meta.dirname, '..', '..', 'bootstrap', 'stagex-2025.10.0.json');
/** bootstrap-stage0 in ../shared/stagex-2025.10.0/digests/bootstrap.txt. */
const PUBLISHED = '5cda98227cbff1e2904698fa52ebb1ec9758b9a908ec52ade7b079710d48e51b';

async function whySkip(): Promise<string | false> {
  if (skipWithoutTree) return skipWithoutTree;
  if (!existsSync(SOURCES)) return `../shared/stagex-sources is absent (${SOURCES}): the real stage0's six sources are test data kept beside the project`;
  if (!runnablePlatforms().includes('linux/386')) return 'this kernel does not run linux/386 programs (detected), and the real stage0 is linux/386; install qemu-user-static and binfmt-support';
  const probe = parseConfig({ name: 'probe', networkId: 'probe', signingKey: 'k', trust: { threshold: 1, keys: [{ name: 'p', publicKey: '0'.repeat(64) }] } }, '/tmp/probe.json');
  return checkedEngine(probe).then(() => false as const, (error: Error) => `no Docker engine that makes StageX's OCI export (${error.message.split('\n')[0]}); run scripts/engine.sh`);
}
const skip = await whySkip();

interface Outcome { image: string; status: string; digest?: string; inputDigest: string }

async function buildStage0(config: string): Promise<Outcome & { stagexDigest: string }> {
  const result = await cli('-c', config, 'build', 'bootstrap-stage0', '--json');
  // 1: built, and waiting for the quorum its pin asks for
  assert.equal(result.code, 1, result.err);
  const outcome = (JSON.parse(result.out) as { images: Outcome[] }).images.find((o) => o.image === 'bootstrap-stage0')!;
  const json = JSON.parse(await readFile(config, 'utf8'));
  const record = JSON.parse(await readFile(join(config, '..', json.builder.outputs ?? 'outputs', outcome.inputDigest, 'build.json'), 'utf8'));
  return { ...outcome, stagexDigest: record.engine.stagexDigest };
}

describe('the real bootstrap-stage0 (StageX 2025.10.0), two reproducers', { skip }, () => {
  const members: Record<string, { config: string; publicKey: string }> = {};
  before(async () => {
    for (const name of ['alice', 'bob', 'carol']) members[name] = await reproducer(name, STAGEX_TREE);
    const trust = { threshold: 2, keys: Object.entries(members).map(([name, m]) => ({ name, publicKey: m.publicKey })) };
    for (const member of Object.values(members)) {
      const json = JSON.parse(await readFile(member.config, 'utf8'));
      await writeFile(member.config, JSON.stringify({ ...json, trust, builder: { ...json.builder, pins: PINS, assign: ['bootstrap-stage0'] } }, null, 2));
    }
  });

  it('sources add refuses a file whose bytes differ from the pin, naming both hashes, and caches nothing', async () => {
    const dir = tempDir('stagex-bad-sources');
    const name = 'm2libc-27ab5de4247e8b00459b2b21109109db8eb4d643.tar.gz';
    await writeFile(join(dir, name), 'not the pinned tarball');
    const result = await cli('-c', members.alice!.config, 'sources', 'add', dir, '--json');
    assert.equal(result.code, 1, result.err);
    const { files } = JSON.parse(result.out) as { files: { result: string; file: string; reason?: string }[] };
    assert.deepEqual(files.map((f) => [f.result, f.file]), [['refused', name]]);
    assert.match(files[0]!.reason!, /expected sha256 e7e739d6ac19a015565a24b835ca620dce7e536cbf20a7cc0da36e0ed0f836ed, got [0-9a-f]{64}/);
    assert.equal(existsSync(join(members.alice!.config, '..', 'cache', 'sha256', 'e7e739d6ac19a015565a24b835ca620dce7e536cbf20a7cc0da36e0ed0f836ed')), false);
  });

  // The two reproducers build at the same time, as independent machines would: the kaem step is
  // one process, so on 2 cores both builds take about as long as one.
  let alice: Awaited<ReturnType<typeof buildStage0>>;
  let bob: Awaited<ReturnType<typeof buildStage0>>;
  it('two reproducers, each with its own cache and no engine cache, build offline from the hex0-seed at the same time', async () => {
    const [aliceAdded, bobAdded] = await Promise.all([
      cli('-c', members.alice!.config, 'sources', 'add', SOURCES, '--json'),
      cli('-c', members.bob!.config, 'sources', 'add', SOURCES),
    ]);
    assert.equal(aliceAdded.code, 0, aliceAdded.err);
    assert.deepEqual((JSON.parse(aliceAdded.out) as { files: { result: string }[] }).files.map((f) => f.result).filter((r) => r !== 'unknown'), Array(6).fill('added'));
    assert.equal(bobAdded.code, 0, bobAdded.err);
    assert.match(bobAdded.out, /6 added, 0 already cached, 0 refused, 1 not sources of the tree/);
    [alice, bob] = await Promise.all([buildStage0(members.alice!.config), buildStage0(members.bob!.config)]);
    assert.equal(alice.status, 'waiting');
    assert.equal(bob.status, 'waiting');
  });

  it('both get StageX\'s published digest, and the same canonical digest from the same inputs', () => {
    assert.equal(alice.stagexDigest, PUBLISHED);
    assert.equal(bob.stagexDigest, PUBLISHED);
    assert.equal(bob.inputDigest, alice.inputDigest);
    assert.equal(bob.digest, alice.digest);
  });

  it('with both attestations (2 of 3), the release manifest holds for bootstrap-stage0 at the published digest, and for nothing else', async () => {
    const exported = tempDir('stagex-bob-export');
    assert.equal((await cli('-c', members.bob!.config, 'export', exported)).code, 0);
    assert.equal((await cli('-c', members.alice!.config, 'import', join(exported, 'envelopes'))).code, 0);
    const manifest = join(STAGEX_DIGESTS, 'bootstrap.txt');
    const verdict = await cli('-c', members.alice!.config, 'verify', manifest, '--all', '--json');
    assert.equal(verdict.code, 1, verdict.err);
    const { entries } = JSON.parse(verdict.out) as { entries: { image: string; digest: string; holds: boolean; reason?: string }[] };
    const stage0 = entries.find((e) => e.image === 'bootstrap-stage0')!;
    assert.equal(stage0.digest, PUBLISHED);
    assert.equal(stage0.holds, true);
    const others = entries.filter((e) => e.image !== 'bootstrap-stage0');
    assert.ok(others.length > 0 && others.every((e) => !e.holds && e.reason === 'unknown'), JSON.stringify(others));
    const shown = await cli('-c', members.alice!.config, 'verify', manifest, '--all');
    assert.match(shown.out, /bootstrap-stage0 .* trusted/);
    // alice's quorum pin now holds: a rerun reuses her build and goes on
    const again = await cli('-c', members.alice!.config, 'build', 'bootstrap-stage0', '--json');
    assert.equal(again.code, 0, again.err);
    assert.equal((JSON.parse(again.out) as { images: Outcome[] }).images[0]!.status, 'reused');
  });

  it('copies nothing it did not check: the cache holds exactly the six pinned sources', async () => {
    const cache = join(members.alice!.config, '..', 'cache', 'sha256');
    assert.equal((await readdir(cache)).length, 6);
  });
});
