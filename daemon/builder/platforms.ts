/**
 * Which platforms this machine can build, detected, never assumed (NOTES "Engine"): its own, and
 * linux/386 on an amd64 kernel that runs 32-bit x86 programs (CONFIG_IA32_EMULATION, or
 * qemu-user registered with binfmt_misc). StageX's bootstrap-stage0 to stage2 are linux/386:
 * their `hex0-seed` must run inside the build.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostPlatform } from './machine.ts';

/** What the probe exits with when it really ran: any other outcome means it did not. */
const PROBE_STATUS = 42;

/**
 * The smallest static i386 ELF executable: one PT_LOAD segment whose code is
 * `mov eax, 1; mov ebx, 42; int 0x80` (the 32-bit `exit(42)` system call).
 */
export function i386Probe(): Buffer {
  const base = 0x08048000;
  const code = Buffer.from([0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, PROBE_STATUS, 0x00, 0x00, 0x00, 0xcd, 0x80]);
  const header = Buffer.alloc(52 + 32);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]).copy(header, 0); // ELF, 32-bit, little-endian, version 1, SysV
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(3, 18); // EM_386
  header.writeUInt32LE(1, 20); // EV_CURRENT
  header.writeUInt32LE(base + header.length, 24); // entry: the code, right after the headers
  header.writeUInt32LE(52, 28); // program headers follow the ELF header
  header.writeUInt16LE(52, 40); // ELF header size
  header.writeUInt16LE(32, 42); // program header size
  header.writeUInt16LE(1, 44); // one program header
  const size = header.length + code.length;
  for (const [at, value] of [[52, 1], [56, 0], [60, base], [64, base], [68, size], [72, size], [76, 5], [80, 0x1000]] as const) header.writeUInt32LE(value, at);
  return Buffer.concat([header, code]);
}

let detected: string[] | undefined;

/** The platforms this machine builds: its own, plus linux/386 when the probe runs. Detected once per process. */
export function runnablePlatforms(): string[] {
  if (detected) return [...detected];
  const host = hostPlatform();
  detected = host === 'linux/amd64' && runsI386() ? [host, 'linux/386'] : [host];
  return [...detected];
}

function runsI386(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'stagex-i386-'));
  try {
    const probe = join(dir, 'probe');
    writeFileSync(probe, i386Probe(), { mode: 0o755 });
    return spawnSync(probe, { stdio: 'ignore', timeout: 5000 }).status === PROBE_STATUS;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
