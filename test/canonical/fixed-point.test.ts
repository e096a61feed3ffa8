/**
 * The canonical form is a fixed point (DESIGN section 3): the canonical OCI layout of a demo-tree
 * image, as a reproducer built it (test/vectors/user-greet-doc-oci/), canonicalizes to itself when
 * given back as an OCI archive, and its digest is the one recorded for the demo tree.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize, layoutTar } from '../../canonical/index.ts';

const LAYOUT = fileURLToPath(new URL('../vectors/user-greet-doc-oci', import.meta.url));
const DEMO = JSON.parse(readFileSync(new URL('../vectors/demo-tree-digests.json', import.meta.url), 'utf8')) as { digests: Record<string, string> };
const work = mkdtempSync(join(tmpdir(), 'stagex-fixed-point-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('a canonical layout canonicalized again', () => {
  it('gives the same digest and the same bytes (user-greet-doc of the demo tree)', async () => {
    const index = JSON.parse(readFileSync(join(LAYOUT, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const recorded = `sha256:${DEMO.digests['user-greet-doc']}`;
    assert.equal(index.manifests[0]?.digest, recorded, 'the committed layout is the one test/vectors/demo-tree-digests.json records');
    const out = join(work, 'out');
    const again = await canonicalize(layoutTar(LAYOUT), out);
    assert.equal(again.digest, recorded, 'canonical bytes changed: a layout built by the previous version no longer canonicalizes to itself, and the network would split by version');
    for (const digest of [again.digest, again.configDigest, again.layerDigest]) {
      const blob = join('blobs', 'sha256', digest.replace(/^sha256:/, ''));
      assert.deepEqual(readFileSync(join(out, blob)), readFileSync(join(LAYOUT, blob)), blob);
    }
  });
});
