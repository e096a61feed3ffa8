/** Where the shared StageX release tree is, and a skip reason when it is absent. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const STAGEX_TREE = fileURLToPath(new URL('../../../shared/stagex-2025.10.0', import.meta.url));
export const STAGEX_DIGESTS = `${STAGEX_TREE}/digests`;

/** `false` when the tree is there, else the reason a test skips. */
export const skipWithoutTree: false | string = existsSync(STAGEX_DIGESTS)
  ? false
  : `../shared/stagex-2025.10.0 is absent (${STAGEX_TREE}): the real StageX tree is test data kept beside the project`;
