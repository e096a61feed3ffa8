/** Small synthetic package directories for the tree tests. */
import { createHash } from 'node:crypto';
import type { PackageInput } from '../../protocol/tree/graph.ts';
import type { Stage } from '../../protocol/tree/package.ts';

export const HASH_A = 'a'.repeat(64);
export const HASH_B = 'b'.repeat(64);

export interface FakePackage {
  /** `[package]` lines after name; default `version = "1.0"`. */
  meta?: string;
  /** Images named by `COPY --from=stagex/<dep> . /`. */
  deps?: string[];
  /** Replaces the generated Containerfile. */
  containerfile?: string;
  /** Appended to package.toml (sources tables). */
  extra?: string;
  /** More files of the directory: relative path -> content. */
  files?: Record<string, string>;
}

/** A package input for `<stage>-<name>`, its files hashed as daemon/tree.ts would. */
export function fakePackage(id: string, spec: FakePackage = {}): PackageInput {
  const dash = id.indexOf('-');
  const stage = id.slice(0, dash) as Stage;
  const name = id.slice(dash + 1);
  const toml = `[package]\nname = "${name}"\n${spec.meta ?? 'version = "1.0"'}\n${spec.extra ?? ''}`;
  const containerfile = spec.containerfile ?? [
    'FROM scratch AS build',
    ...(spec.deps ?? []).map((d) => `COPY --from=stagex/${d} . /`),
    'FROM scratch AS package',
    'COPY --from=build / /',
    '',
  ].join('\n');
  const contents: Record<string, string> = { 'package.toml': toml, Containerfile: containerfile, ...spec.files };
  const files = Object.fromEntries(Object.entries(contents).map(([path, text]) => [path, sha256(text)]));
  return { stage, name, dir: `packages/${stage}/${name}`, toml, containerfile, files };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
