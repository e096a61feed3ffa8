/**
 * Facts about the machine and engine that built an image, recorded in its attestation
 * (DESIGN section 4: StageX requires reproduction on two CPU vendors, so the vendor is named).
 */
import { readFile } from 'node:fs/promises';
import { arch, release } from 'node:os';
import type { EngineInfo } from './engine.ts';

/** Node's architecture names -> OCI's. */
const OCI_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The OCI platform this machine builds natively, e.g. `linux/amd64`. */
export function hostPlatform(): string {
  return `linux/${OCI_ARCH[arch()] ?? arch()}`;
}

export async function machineFacts(engine: EngineInfo): Promise<Record<string, string>> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  return {
    cpuVendor: /^vendor_id\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    arch: OCI_ARCH[arch()] ?? arch(),
    os: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'unknown',
    kernel: release(),
    engine: engine.name,
    engineVersion: engine.version,
  };
}
