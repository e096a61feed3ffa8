import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapCheck, clockCheck, configCheck, dataDirsCheck, engineCheck, exitCodeOf, keyFilesCheck, MIN_FREE_BYTES, platformCheck, portsCheck, WARN_FREE_BYTES, type Check } from '../../daemon/doctor/checks.ts';

const GiB = 1024 ** 3;

describe('doctor checks', () => {
  describe('exitCodeOf', () => {
    const of = (...statuses: Check['status'][]) => exitCodeOf(statuses.map((status) => ({ id: 'x', status, summary: '' })));
    it('is 0 when nothing FAILs, warnings included, and 1 when one does', () => {
      assert.equal(of('ok', 'warn', 'ok'), 0);
      assert.equal(of('ok', 'fail', 'warn'), 1);
      assert.equal(of(), 0);
    });
  });

  describe('config', () => {
    it('FAILs a missing config with the way to make one, a bad one with where the fields are documented', () => {
      const missing = configCheck({ code: 'CONFIG_NOT_FOUND', error: 'config /x: cannot read (ENOENT)' });
      assert.equal(missing.status, 'fail');
      assert.match(missing.fix!, /stagex-node init/);
      const bad = configCheck({ code: 'BAD_CONFIG', error: 'config /x: 1 problem(s):\ntrust.threshold: expected int' });
      assert.equal(bad.status, 'fail');
      assert.match(bad.summary, /trust\.threshold/);
      assert.doesNotMatch(bad.summary, /\n/);
      assert.equal(configCheck({ file: '/x' }).status, 'ok');
    });
  });

  describe('engine', () => {
    it('is OK when the builder\'s own checks pass', () => {
      assert.equal(engineCheck({ name: 'docker', version: '26.1.5' }, true).status, 'ok');
    });
    it('FAILs an unusable engine on a node assigned builds, with a fix per refusal', () => {
      for (const code of ['ENGINE_UNREACHABLE', 'ENGINE_TOO_OLD', 'NO_BUILDKIT', 'NO_OCI_EXPORT', 'ENGINE_MISMATCH']) {
        const check = engineCheck({ code, message: 'm' }, true);
        assert.equal(check.status, 'fail', code);
        assert.ok(check.fix && check.fix.length > 10, code);
      }
      assert.match(engineCheck({ code: 'NO_OCI_EXPORT', message: 'm' }, true).fix!, /containerd-snapshotter/);
    });
    it('only WARNs when the node builds nothing', () => {
      const check = engineCheck({ code: 'ENGINE_UNREACHABLE', message: 'm' }, false);
      assert.equal(check.status, 'warn');
      assert.match(check.summary, /nothing is built here/);
    });
  });

  describe('platforms', () => {
    it('is OK with linux/386 on amd64', () => {
      assert.equal(platformCheck(['linux/amd64', 'linux/386'], 'linux/amd64', undefined).status, 'ok');
    });
    it('WARNs when an amd64 host does not run i386, naming the packages that make it', () => {
      const check = platformCheck(['linux/amd64'], 'linux/amd64', undefined);
      assert.equal(check.status, 'warn');
      assert.match(check.fix!, /qemu-user-static binfmt-support/);
    });
    it('is OK on a host with no 32-bit sibling', () => {
      assert.equal(platformCheck(['linux/arm64'], 'linux/arm64', undefined).status, 'ok');
    });
    it('FAILs a configured platform the machine does not run', () => {
      const check = platformCheck(['linux/amd64'], 'linux/amd64', ['linux/amd64', 'linux/386']);
      assert.equal(check.status, 'fail');
      assert.match(check.summary, /linux\/386/);
    });
  });

  describe('ports', () => {
    const listen = { field: 'network.listen', address: '/ip4/127.0.0.1/tcp/4001' };
    const api = { field: 'api.listen', address: '127.0.0.1:7780' };
    it('is OK when every address is free or dynamic', () => {
      assert.equal(portsCheck([{ ...listen, state: 'free' }, { ...api, state: 'dynamic' }], false).status, 'ok');
    });
    it('FAILs an address held by another process, naming it', () => {
      const check = portsCheck([{ ...listen, state: 'free' }, { ...api, state: 'in-use' }], false);
      assert.equal(check.status, 'fail');
      assert.match(check.summary, /api\.listen 127\.0\.0\.1:7780 is held by another process/);
    });
    it('is OK when the holder is this config\'s own daemon', () => {
      const check = portsCheck([{ ...listen, state: 'in-use' }, { ...api, state: 'in-use' }], true);
      assert.equal(check.status, 'ok');
      assert.match(check.summary, /own daemon/);
    });
    it('FAILs an address that cannot be bound at all, even with the daemon running', () => {
      assert.equal(portsCheck([{ ...listen, state: { error: 'EACCES' } }], true).status, 'fail');
    });
  });

  describe('key files', () => {
    const uid = 1000;
    const key = (state: Parameters<typeof keyFilesCheck>[0][number]['state']) => [{ field: 'signingKey', path: '/n/signing-key.pem', state }];
    it('is OK for 0600 and 0400 files of this user, and an identity key start will make', () => {
      assert.equal(keyFilesCheck([...key({ mode: 0o600, uid }), { field: 'network.identityKey', path: '/n/id', state: { missing: true, createdAtStart: true } }], uid).status, 'ok');
      assert.equal(keyFilesCheck(key({ mode: 0o400, uid }), uid).status, 'ok');
    });
    it('FAILs a key group or others may read, with the chmod that fixes it', () => {
      for (const mode of [0o640, 0o604, 0o644]) {
        const check = keyFilesCheck(key({ mode, uid }), uid);
        assert.equal(check.status, 'fail');
        assert.equal(check.fix, 'chmod 600 /n/signing-key.pem');
      }
    });
    it('FAILs a key owned by another user, and a missing signing key', () => {
      assert.match(keyFilesCheck(key({ mode: 0o600, uid: 0 }), uid).fix!, /chown/);
      assert.match(keyFilesCheck(key({ missing: true, createdAtStart: false }), uid).fix!, /backup/);
    });
  });

  describe('data directories', () => {
    const dir = (freeBytes: number, writable: boolean | { error: string } = true) => ({ field: 'store', path: '/n/store', writable, freeBytes });
    it('FAILs a directory not writable', () => {
      assert.equal(dataDirsCheck([dir(100 * GiB, { error: 'EACCES' })], false).status, 'fail');
    });
    it('FAILs below MIN_FREE_BYTES, WARNs a builder below WARN_FREE_BYTES, and is OK above', () => {
      assert.equal(dataDirsCheck([dir(MIN_FREE_BYTES - 1)], false).status, 'fail');
      assert.equal(dataDirsCheck([dir(WARN_FREE_BYTES - 1)], true).status, 'warn');
      assert.equal(dataDirsCheck([dir(WARN_FREE_BYTES - 1)], false).status, 'ok');
      assert.equal(dataDirsCheck([dir(WARN_FREE_BYTES)], true).status, 'ok');
    });
  });

  describe('clock', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    it('FAILs a year before 2025', () => {
      assert.equal(clockCheck(new Date('1970-01-01T00:01:00Z'), { unread: 'no store yet' }).status, 'fail');
    });
    it('FAILs a clock behind a build this node already signed, beyond five minutes', () => {
      const check = clockCheck(now, { newest: new Date('2026-06-01T12:05:01Z') });
      assert.equal(check.status, 'fail');
      assert.match(check.summary, /already signed/);
      assert.equal(clockCheck(now, { newest: new Date('2026-06-01T12:04:59Z') }).status, 'ok');
    });
    it('is OK after its newest signed build, or when none was read, saying why', () => {
      assert.equal(clockCheck(now, { newest: new Date('2026-05-01T00:00:00Z') }).status, 'ok');
      assert.match(clockCheck(now, { unread: 'the running daemon holds the store' }).summary, /daemon holds the store/);
    });
  });

  describe('bootstrap', () => {
    const up = { address: '/ip4/10.0.0.1/tcp/1/p2p/a', reachable: true as const };
    const down = { address: '/ip4/10.0.0.2/tcp/1/p2p/b', reachable: { error: 'ECONNREFUSED' } };
    it('is OK with none configured or all answering, WARNs some down, FAILs all down', () => {
      assert.equal(bootstrapCheck([]).status, 'ok');
      assert.equal(bootstrapCheck([up]).status, 'ok');
      assert.equal(bootstrapCheck([up, down]).status, 'warn');
      const all = bootstrapCheck([down]);
      assert.equal(all.status, 'fail');
      assert.match(all.summary, /10\.0\.0\.2.*ECONNREFUSED/);
    });
  });
});
