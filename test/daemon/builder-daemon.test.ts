/**
 * The builder inside running daemons (separate processes, libp2p on 127.0.0.1, the real engine):
 * a bootstrap stage pinned to "quorum" holds each daemon's builds above it until the other
 * daemon's attestation arrives by gossip, and a CLI build next to a running daemon goes through
 * it (and so to its peers). Skips, saying why, without an engine or the busybox seed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectEngine } from '../../daemon/builder/engine.ts';
import { cli, health, makeCluster, startMember, stopMember, until, type Member } from '../../scripts/local-network.ts';
import type { Mirror } from '../../scripts/mirror.ts';
import { demoMirrorDir, demoPins, demoTree } from '../helpers/demo-tree.ts';
import { tempDir } from '../helpers/tmp.ts';

const noEngine = await connectEngine().check().then(() => false as const, (error: Error) => `no Docker engine >= 26 answers (${error.message.split('\n')[0]}); run scripts/engine.sh`);
const mirrorDir = noEngine === false ? await demoMirrorDir() : { skip: noEngine };
const skip = 'skip' in mirrorDir ? mirrorDir.skip : false;

const events = (member: Member, event: string) => member.log.filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the builder in running daemons', { skip }, () => {
  let members: Member[] = [];
  let mirror: Mirror | undefined;

  before(async () => {
    const pins = await demoPins();
    pins.stages['bootstrap-stage0']!.digest = 'quorum';
    const made = await demoTree((mirrorDir as { dir: string }).dir, pins);
    mirror = made.mirror;
    members = await makeCluster(tempDir('stagex-builders'), ['gina', 'hank'], 2, {
      networkId: 'builders',
      builder: { tree: made.tree, assign: ['bootstrap-*', 'core-filesystem'] },
    });
    for (const member of members) startMember(member);
  });

  after(async () => {
    await Promise.all(members.map((m) => stopMember(m)));
    await mirror?.close();
  });

  it('builds above a quorum-pinned stage only once both keys attested the same digest', async () => {
    await until('both daemons built core-filesystem', () => members.every((m) => events(m, 'build.built').some((e) => e.image === 'core-filesystem')), 180_000);
    for (const member of members) {
      const stage0 = [...events(member, 'build.built'), ...events(member, 'build.waiting')].find((e) => e.image === 'bootstrap-stage0')!;
      const trusted = events(member, 'verdict.trusted').find((e) => e.image === 'bootstrap-stage0');
      assert.ok(trusted, `${member.name} logged no trusted verdict for bootstrap-stage0`);
      assert.equal(trusted.digest, stage0.digest);
      assert.deepEqual([...(trusted.signers as string[])].sort(), ['gina', 'hank']);
      const filesystem = member.log.findIndex((l) => l.includes('"build.started"') && l.includes('core-filesystem'));
      const quorum = member.log.findIndex((l) => l.includes('"verdict.trusted"') && l.includes('bootstrap-stage0'));
      assert.ok(quorum >= 0 && quorum < filesystem, `${member.name} started core-filesystem before the quorum on bootstrap-stage0`);
      assert.deepEqual(events(member, 'builder.run').at(-1), { ...events(member, 'builder.run').at(-1), waiting: 0, failed: 0 });
    }
  });

  it('export goes through the running daemon: every envelope it holds, and the trusted digests', async () => {
    const gina = members[0]!;
    const out = tempDir('stagex-export');
    // Counted live around the export (hank's envelopes may still be arriving; /status is cached for a second).
    const held = async () => (await health(gina))!.envelopes;
    const heldBefore = await held();
    const result = await cli('-c', gina.config, 'export', out, '--json');
    assert.equal(result.code, 0, result.err);
    const summary = JSON.parse(result.out) as { envelopes: number; trusted: number };
    const heldAfter = await held();
    assert.ok(heldBefore <= summary.envelopes && summary.envelopes <= heldAfter, `exported ${summary.envelopes}, held ${heldBefore} before and ${heldAfter} after`);
    assert.equal((await readdir(join(out, 'envelopes'))).length, summary.envelopes);
    const digests = await readFile(join(out, 'digests', 'bootstrap.txt'), 'utf8');
    assert.match(digests, /^[0-9a-f]{64} bootstrap-stage0\n$/);
    assert.equal((await cli('-c', gina.config, 'verify', join(out, 'digests'))).code, 0);
  });

  it('a CLI build next to a running daemon attests through it, and its peer gets the attestation', async () => {
    const [gina, hank] = members as [Member, Member];
    const built = await cli('-c', gina.config, 'build', '--json', 'core-hello');
    assert.equal(built.code, 0, built.err);
    const outcome = (JSON.parse(built.out) as { images: { image: string; status: string; digest: string }[] }).images.find((i) => i.image === 'core-hello')!;
    assert.equal(outcome.status, 'built');
    await until('hank has gina\'s attestation of core-hello', async () => {
      const answer = JSON.parse((await cli('-c', hank.config, 'query', '--image', 'core-hello', '--json')).out) as { verdicts: { digests: { digest: string }[] }[] };
      return answer.verdicts[0]?.digests[0]?.digest === outcome.digest;
    }, 120_000);
  });
});
