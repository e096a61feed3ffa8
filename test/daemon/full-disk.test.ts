/**
 * A store on a small filesystem that fills up (issue "durability"): the node's store on an
 * 8 MiB tmpfs, most of it taken by a filler file, takes envelopes through its API until the
 * disk is full. Each refused import is a 507 STORE_FULL saying so (no stack trace), logged as
 * store.write_failed; queries and `store check` go on answering; once the filler is deleted,
 * imports are stored again without a restart, and nothing acknowledged is missing. Needs root
 * to mount the tmpfs: skipped, saying why, where mounting is not permitted.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callApi, type LocalApi } from '../../daemon/client.ts';
import { AttestationStore } from '../../store/store.ts';
import { cli, health, makeCluster, memberApi, startMember, stopMember, until, type Member } from '../../scripts/local-network.ts';
import { envelopeBytes, hex64, signers } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const keys = signers(2);

/** Mounts an 8 MiB tmpfs at `dir`, or says why it cannot. */
function mountTmpfs(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount -t tmpfs is not permitted here (${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim()})`;
  }
}

describe('a store on a small filesystem that fills up', { timeout: 300_000 }, () => {
  const root = tempDir('stagex-full');
  const disk = join(root, 'disk');
  const filler = join(disk, 'filler');
  let unmountable: string | undefined;
  let member: Member;
  let api: LocalApi;
  let next = 0;

  /** Posts a fresh envelope; its status, error and hash. */
  const post = async () => {
    const i = next++;
    const bytes = envelopeBytes(keys[i % keys.length]!, { image: `core-full${i}`, inputDigest: hex64(`full in ${i}`), digest: hex64(`full out ${i}`) });
    const reply = (await callApi(api, 'POST', '/envelopes', bytes))!;
    const body = JSON.parse(reply.body) as { hash?: string; error?: { code: string; message: string } };
    return { status: reply.status, ...body };
  };

  before(async () => {
    mkdirSync(disk);
    unmountable = mountTmpfs(disk);
    if (unmountable) return;
    [member] = await makeCluster(join(root, 'nodes'), ['full'], 1) as [Member];
    const json = JSON.parse(await readFile(member.config, 'utf8'));
    json.store = join(disk, 'store');
    json.trust.keys.push(...keys.map((k, i) => ({ name: `client${i}`, publicKey: Buffer.from(k.publicKey).toString('hex') })));
    await writeFile(member.config, JSON.stringify(json, null, 2));
    await writeFile(filler, Buffer.alloc(6 * 1024 * 1024));
    startMember(member, ['--no-build']);
    await until('the daemon answers', async () => (await health(member)) !== undefined, 30_000);
    api = await memberApi(member);
  });

  after(async () => {
    if (unmountable) return;
    await stopMember(member);
    execFileSync('umount', [disk]);
  });

  it('refuses writes STORE_FULL, keeps answering, stays consistent, and stores again once space returns', async (t) => {
    if (unmountable) return t.skip(unmountable);
    const acked: string[] = [];
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    while (refused === undefined) {
      assert.ok(next < 20_000, 'expected the 2 MiB left to fill before 20,000 envelopes');
      const replies = await Promise.all([post(), post(), post(), post()]);
      for (const reply of replies) reply.status === 200 ? acked.push(reply.hash!) : (refused ??= reply);
    }
    assert.equal(refused.status, 507, JSON.stringify(refused));
    assert.equal(refused.error!.code, 'STORE_FULL');
    assert.match(refused.error!.message, /^POST \/envelopes: store .*: 1 envelope\(s\) not stored: the disk is full \(.*No space left on device\)/);
    assert.doesNotMatch(refused.error!.message, /\n\s+at /, 'no stack trace');
    for (let i = 0; i < 3; i += 1) {
      const again = await post();
      assert.equal(again.status, 507);
      assert.equal(again.error!.code, 'STORE_FULL');
      assert.match(again.error!.message, /not written: a write failed .* free space and the next write goes on/);
    }
    await until('the log says store.write_failed STORE_FULL', () => member.log.some((l) => l.includes('"event":"store.write_failed"') && l.includes('"code":"STORE_FULL"')));

    assert.equal((await health(member))!.envelopes, acked.length, 'health answers with every acknowledged envelope');
    const query = await cli('-c', member.config, 'query', '--image', 'core-full0', '--json');
    assert.equal(query.code, 0, query.err);
    assert.equal(JSON.parse(query.out).verdicts[0].status, 'trusted');
    const check = await cli('-c', member.config, 'store', 'check', '--json');
    assert.equal(check.code, 0, check.out + check.err);
    assert.deepEqual(JSON.parse(check.out).problems, []);
    assert.equal(JSON.parse(check.out).envelopes, acked.length);

    await rm(filler);
    const resumed = await post();
    assert.equal(resumed.status, 200, JSON.stringify(resumed));
    acked.push(resumed.hash!);
    for (let i = 0; i < 50; i += 1) {
      const reply = await post();
      assert.equal(reply.status, 200, JSON.stringify(reply));
      acked.push(reply.hash!);
    }
    assert.ok(member.log.some((l) => l.includes('"event":"store.reopened"')), 'the log says the store reopened');
    assert.equal((await health(member))!.envelopes, acked.length);

    assert.equal(await stopMember(member), 0, 'a clean stop');
    const store = await AttestationStore.open(join(disk, 'store'));
    const bytes = await store.getMany(acked);
    await store.close();
    assert.deepEqual(acked.filter((_, i) => bytes[i] === undefined), [], 'every acknowledged envelope is stored after a restart');
    const stopped = await cli('-c', member.config, 'store', 'check', '--json');
    assert.deepEqual(JSON.parse(stopped.out).problems, [], stopped.err);
    assert.equal(JSON.parse(stopped.out).envelopes, acked.length);
  });
});
