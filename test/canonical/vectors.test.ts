/**
 * Known-answer vectors of the canonical image (DESIGN section 3). Round-trip tests still pass when
 * writer and reader change together; these pin the bytes themselves. A reproducer on another
 * version would attest another digest for the same image, and its votes would never count with
 * ours: the network would split by version.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { canonicalize } from '../../canonical/index.ts';
import { readVectors, vectorArchive } from '../helpers/canonical-vectors.ts';
import { streamOf } from '../helpers/image-archive.ts';
import { tempDir } from '../helpers/tmp.ts';

const split = (name: string) =>
  `canonical bytes of vector "${name}" changed: nodes on this version would attest other digests than nodes on the version that computed test/vectors/canonical-images.json, and the network would split by version (a deliberate change is a protocol change: DESIGN section 3 and these vectors change with it)`;

describe('the canonical image of each known-answer vector', () => {
  for (const vector of readVectors()) {
    it(`${vector.name}: layer, config and manifest digests as recorded`, async () => {
      const image = await canonicalize(streamOf(await vectorArchive(vector)), join(tempDir('stagex-vectors'), 'out'));
      const got = { layer: image.layerDigest, config: image.configDigest, manifest: image.digest };
      assert.deepEqual(Object.fromEntries(Object.entries(got).map(([key, digest]) => [key, digest.replace(/^sha256:/, '')])), vector.expected, split(vector.name));
    });
  }
});
