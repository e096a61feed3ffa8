/**
 * Offline signing end to end (DESIGN section 4): a node without its key records builds, their
 * statements wait, `statements export` writes them, OpenSSL signs the .pae files as an air-gapped
 * machine would, and `statements import` turns the signatures into stored votes; bad files are
 * reported one by one and change nothing.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sx } from '../../helpers/cli.ts';
import { createAttestor } from '../../../daemon/builder/attestor.ts';
import { outputPaths, writeRecord, type BuildRecord } from '../../../daemon/builder/outputs.ts';
import { loadContext, type NodeContext } from '../../../daemon/context.ts';
import { preAuthEncoding } from '../../../protocol/dsse.ts';
import { toHex } from '../../../protocol/encoding.ts';
import { keyidOf } from '../../../protocol/keys.ts';
import { PAYLOAD_TYPE } from '../../../protocol/statement.ts';
import { resolveTree } from '../../../protocol/tree/graph.ts';
import { hex64 } from '../../helpers/fixtures.ts';
import { noOpenssl, opensslKey, opensslSign } from '../../helpers/openssl.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { fakePackage } from '../../helpers/tree.ts';

interface Exported { name: string; image: string; pae: string; sig: string }
interface Outcome { file: string; result: string; code?: string }

function record(image: string, started = '2026-11-25T00:00:00.000Z'): BuildRecord {
  return {
    image,
    platform: 'linux/amd64',
    inputDigest: hex64(`input ${image}`),
    digest: hex64(`output ${image}`),
    engine: { name: 'docker', version: '26.1.5', imageId: `sha256:${hex64(`engine ${image}`)}` },
    sources: [],
    dependencies: [],
    startedOn: started,
    finishedOn: '2026-11-25T00:01:00.000Z',
  };
}

describe('offline signing: statements export and import', { skip: noOpenssl }, () => {
  const dir = tempDir('stagex-offline');
  const out = join(dir, 'usb');
  const tree = resolveTree([fakePackage('core-hello'), fakePackage('core-world')]);
  const records = [record('core-hello'), record('core-world')];
  let config: string;
  let context: NodeContext;
  let key: Awaited<ReturnType<typeof opensslKey>>;
  let other: Awaited<ReturnType<typeof opensslKey>>;

  const exportNow = async () => {
    const result = await sx('-c', config, 'statements', 'export', out, '--json');
    assert.equal(result.code, 0, result.err);
    return JSON.parse(result.out).statements as Exported[];
  };
  const importNow = async () => {
    const result = await sx('-c', config, 'statements', 'import', out, '--json');
    return { code: result.code, outcomes: JSON.parse(result.out).outcomes as Outcome[] };
  };
  const ownVotes = async () => {
    const result = await sx('-c', config, 'query', '--key', 'olive', '--json');
    assert.equal(result.code, 0, result.err);
    return JSON.parse(result.out).votes as { image: string; digest: string }[];
  };

  before(async () => {
    key = await opensslKey(dir, 'air-gapped');
    other = await opensslKey(dir, 'other');
    const init = await sx('init', join(dir, 'olive'), '--name', 'olive', '--json');
    assert.equal(init.code, 0, init.err);
    config = JSON.parse(init.out).config;
    const { signingKey, ...json } = JSON.parse(await readFile(config, 'utf8'));
    assert.ok(signingKey);
    const publicKey = toHex(key.publicKey);
    await writeFile(config, JSON.stringify({ ...json, signer: { offline: true, publicKey }, trust: { threshold: 1, keys: [{ name: 'olive', publicKey }] }, api: { listen: join(dir, 'no-daemon.sock') } }));
    context = await loadContext(config);
    for (const r of records) {
      await mkdir(outputPaths(context.config.builder.outputs, r.inputDigest).dir, { recursive: true });
      await writeRecord(context.config.builder.outputs, r);
    }
  });

  it('a build on an offline node keeps its statement instead of signing, and keeps the same bytes on later runs', async () => {
    assert.ok('offline' in context.signer);
    assert.equal(context.signer.keyid, keyidOf(key.publicKey));
    const attestor = createAttestor({ context, tree, submit: async () => assert.fail('an offline node submits nothing'), query: async () => assert.fail('not asked'), machine: { cpu: 'test' } });
    for (const r of records) await attestor.attest(r);
    assert.deepEqual([...attestor.unsigned.keys()].sort(), records.map((r) => r.inputDigest).sort());
    const kept = await readFile(outputPaths(context.config.builder.outputs, records[0]!.inputDigest).statement);
    await createAttestor({ context, tree, submit: async () => assert.fail('an offline node submits nothing'), query: async () => assert.fail('not asked'), machine: { cpu: 'other' } }).attest(record('core-hello', '2026-12-01T00:00:00.000Z'));
    assert.deepEqual(await readFile(outputPaths(context.config.builder.outputs, records[0]!.inputDigest).statement), kept);
  });

  it('`attest` on an offline node is an error (exit 3), and stores nothing', async () => {
    const result = await sx('-c', config, 'attest', '--image', 'core-hello', '--input-digest', hex64('x'), '--digest', hex64('y'));
    assert.equal(result.code, 3);
    assert.deepEqual(await ownVotes(), []);
  });

  it('export writes each waiting statement\'s exact payload, its PAE, and an index', async () => {
    const exported = await exportNow();
    assert.deepEqual(exported.map((e) => e.image), ['core-hello', 'core-world']);
    for (const e of exported) {
      const payload = await readFile(join(out, `${e.name}.payload.json`));
      const kept = records.find((r) => r.image === e.image)!;
      assert.deepEqual(payload, await readFile(outputPaths(context.config.builder.outputs, kept.inputDigest).statement));
      assert.deepEqual(new Uint8Array(await readFile(e.pae)), preAuthEncoding(PAYLOAD_TYPE, new Uint8Array(payload)));
      assert.equal(e.name, `${e.image}-${kept.inputDigest.slice(0, 12)}`);
    }
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(index.keyid, keyidOf(key.publicKey));
    assert.equal(index.statements.length, 2);
  });

  describe('import, file by file, when a signature is bad', () => {
    const cases: [string, string, (e: Exported) => Promise<void>][] = [
      ['no .sig file', 'NO_SIGNATURE', async () => {}],
      ['a signature by another key', 'SIGNER_BAD_SIGNATURE', async (e) => writeFile(e.sig, await opensslSign(other.file, e.pae))],
      ['garbage', 'BAD_ENCODING', async (e) => writeFile(e.sig, 'signed, trust me\n')],
      ['a payload changed and signed', 'STATEMENT_CHANGED', async (e) => {
        const file = join(out, `${e.name}.payload.json`);
        const changed = (await readFile(file, 'utf8')).replace(hex64('output core-hello'), hex64('evil'));
        await writeFile(file, changed);
        await writeFile(join(out, `${e.name}.changed.pae`), preAuthEncoding(PAYLOAD_TYPE, new Uint8Array(Buffer.from(changed))));
        await writeFile(e.sig, await opensslSign(key.file, join(out, `${e.name}.changed.pae`)));
      }],
    ];
    for (const [what, code, damage] of cases) {
      it(`${what}: ${code} for that file, and nothing is stored`, async () => {
        const [hello] = await exportNow();
        await damage(hello!);
        const { code: exit, outcomes } = await importNow();
        assert.equal(exit, 1);
        assert.equal(outcomes.find((o) => o.file === hello!.sig)?.code, code);
        assert.deepEqual(await ownVotes(), []);
      });
    }
  });

  it('import stores the signatures OpenSSL made over the exported .pae files (raw and hex), and export then has nothing left', async () => {
    const [hello, world] = await exportNow();
    await writeFile(hello!.sig, await opensslSign(key.file, hello!.pae));
    await writeFile(world!.sig, `${toHex(await opensslSign(key.file, world!.pae))}\n`);
    const { code, outcomes } = await importNow();
    assert.equal(code, 0, JSON.stringify(outcomes));
    assert.deepEqual(outcomes.map((o) => o.result), ['added', 'added']);
    const votes = await ownVotes();
    assert.deepEqual(votes.map((v) => [v.image, v.digest]).sort(), records.map((r) => [r.image, r.digest]));
    assert.deepEqual((await importNow()).outcomes.map((o) => o.result), ['present', 'present']);
    assert.deepEqual(await exportNow(), []);
  });
});
