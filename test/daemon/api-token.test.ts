/**
 * The local API's token file (daemon/api-token.ts): whole or absent whatever moment a start is
 * killed at, so a CLI never finds an empty one (the crash test once did: `store check` then
 * refused the file until the next start).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { apiTokenPath, readApiToken, writeApiToken } from '../../daemon/api-token.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('api.token', () => {
  it('after a start killed before its token was in place: no daemon for the CLI, and the next start writes a whole token', async () => {
    const dir = tempDir('stagex-api-token');
    // What a start killed between creating its file and writing the token leaves behind.
    await writeFile(`${apiTokenPath(dir)}.new`, '', { mode: 0o600 });
    assert.equal(await readApiToken(dir), undefined, 'no token file: no daemon of this config runs');
    const written = await writeApiToken(dir);
    assert.equal(await readApiToken(dir), written.token);
    assert.equal(existsSync(`${apiTokenPath(dir)}.new`), false, 'the dead start\'s file is gone');
    await written.remove();
    assert.equal(await readApiToken(dir), undefined);
  });

  it('replaces a dead daemon\'s token with a fresh one', async () => {
    const dir = tempDir('stagex-api-token');
    const dead = await writeApiToken(dir);
    const fresh = await writeApiToken(dir);
    assert.notEqual(fresh.token, dead.token);
    assert.equal(await readApiToken(dir), fresh.token);
    await dead.remove();
    assert.equal(await readApiToken(dir), fresh.token, 'the dead one\'s remove leaves the new token');
  });
});
