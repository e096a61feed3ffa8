/** Parsing of command-line values: a bad one is a USAGE error saying which option and why. */
import type { Command } from 'commander';
import { imageNameSchema, platformSchema, sha256HexSchema } from '../../protocol/statement.ts';
import { describeValue } from '../../protocol/errors.ts';
import { DaemonError } from '../errors.ts';
import type { z } from 'zod';

export function checked<T>(schema: z.ZodType<T>, value: unknown, option: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new DaemonError('USAGE', `${option}: ${parsed.error.issues[0]?.message}, got ${describeValue(value)}`);
  return parsed.data;
}

/** sha256 hex, with an optional `sha256:` prefix as users copy digests from engines. */
export function digestArg(value: string, option: string): string {
  return checked(sha256HexSchema, value.replace(/^sha256:/, ''), option);
}

export function imageArg(value: string, option: string): string {
  return checked(imageNameSchema, value, option);
}

export function platformArg(value: string, option: string): string {
  return checked(platformSchema, value, option);
}

/** The root program's --config value, from any subcommand. */
export function configPath(command: Command): string {
  let root = command;
  while (root.parent) root = root.parent;
  return root.opts<{ config: string }>().config;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
