/**
 * OpenPGP keys made with GnuPG in a temporary GNUPGHOME, and signatures made exactly as StageX's
 * src/sign.sh makes them (`gpg --sign` of the payload, binary). Keys are generated once per test
 * process: an RSA-4096 and an ed25519 certify-only primary, each with a signing subkey (as on
 * StageX's smart cards), and an outsider whose primary signs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { tempDir } from './tmp.ts';

const gpgFound = spawnSync('gpg', ['--version']).status === 0;

/** `false` when gpg runs, else why the test skips. */
export const skipWithoutGpg: false | string = gpgFound ? false : 'gpg is not installed (apt-get install gnupg): OpenPGP signatures cannot be made here';

export interface GpgKey {
  /** Primary fingerprint, uppercase as gpg prints it. */
  fingerprint: string;
  /** The signing subkey's fingerprint (the primary's for the outsider). */
  signingFingerprint: string;
  /** The exported public certificate (binary), written beside the home as <name>.pgp. */
  certificate: string;
  armored: string;
}

export interface Gpg {
  home: string;
  rsa: GpgKey;
  ed: GpgKey;
  outsider: GpgKey;
  /** gpg with this home and no prompts. */
  run(args: readonly string[], input?: Uint8Array | string): Buffer;
  /** `printf payload | gpg --sign --local-user fpr`, as sign.sh. */
  sign(key: GpgKey, payload: Uint8Array | string): Buffer;
}

let made: Gpg | undefined;

export function gpg(): Gpg {
  if (made) return made;
  const home = tempDir('stagex-gnupg');
  const env = { ...process.env, GNUPGHOME: home };
  const run = (args: readonly string[], input?: Uint8Array | string) =>
    execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quiet', ...args], { env, input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  process.on('exit', () => spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env }));
  const fingerprints = (uid: string) => run(['--with-colons', '--list-keys', uid]).toString().split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]!);
  const key = (name: string, algo: string, subkey: boolean): GpgKey => {
    const uid = `${name} <${name}@stagex.test>`;
    run(['--quick-gen-key', uid, algo, subkey ? 'cert' : 'sign', 'never']);
    const [fingerprint] = fingerprints(uid) as [string];
    if (subkey) run(['--quick-add-key', fingerprint, algo, 'sign', 'never']);
    const all = fingerprints(uid);
    const certificate = join(home, `${name}.pgp`);
    const armored = join(home, `${name}.asc`);
    writeFileSync(certificate, run(['--export', fingerprint]));
    writeFileSync(armored, run(['--armor', '--export', fingerprint]));
    return { fingerprint, signingFingerprint: all.at(-1)!, certificate, armored };
  };
  const rsa = key('rsa-maintainer', 'rsa4096', true);
  const ed = key('ed-maintainer', 'ed25519', true);
  const outsider = key('outsider', 'ed25519', false);
  const sign = (k: GpgKey, payload: Uint8Array | string) => run(['--sign', '--local-user', k.fingerprint], payload);
  made = { home, rsa, ed, outsider, run, sign };
  return made;
}
