/**
 * The node's configuration: one JSON file validated by zod (DESIGN section 8). Relative paths
 * are taken from the config file's directory. An error names the field path, the bad value and
 * what was expected; nothing starts before the whole file is valid.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../protocol/errors.ts';
import { withoutComments } from '../protocol/encoding.ts';
import { platformSchema } from '../protocol/statement.ts';
import { DaemonError } from './errors.ts';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes * 2} lowercase hex characters`);

const fingerprint = z.string().regex(/^[0-9a-fA-F]{40}$/, 'expected an OpenPGP v4 primary key fingerprint, 40 hex characters');

/** A trusted signer (DESIGN section 5): a person or machine with an ed25519 key, OpenPGP keys, or both. */
const trustedSignerSchema = z.strictObject({
  name: z.string().min(1).max(64),
  publicKey: hex(32).optional(),
  openpgp: z.array(z.strictObject({ fingerprint, certificate: z.string().min(1) })).min(1).max(16).optional(),
}).refine((s) => s.publicKey !== undefined || s.openpgp !== undefined, 'expected publicKey, openpgp or both');

const trustSchema = z.strictObject({
  threshold: z.int().min(1),
  keys: z.array(trustedSignerSchema).min(1).refine((keys) => new Set(keys.map((k) => k.name)).size === keys.length, 'expected distinct signer names'),
  revoked: z.array(z.union([hex(32), fingerprint], 'expected a keyid or public key (64 lowercase hex) or an OpenPGP fingerprint (40 hex)')).default([]),
});

const networkSchema = z.strictObject({
  listen: z.array(z.string().startsWith('/', 'expected a multiaddr such as /ip4/127.0.0.1/tcp/4001')).default(['/ip4/127.0.0.1/tcp/0']),
  bootstrap: z.array(z.string().regex(/^\/.+\/p2p\/[A-Za-z0-9]+$/, 'expected a multiaddr ending in /p2p/<peer id>')).default([]),
  identityKey: z.string().min(1).default('peer-identity.key'),
});

const builderSchema = z.strictObject({
  engine: z.enum(['docker', 'podman']).default('docker'),
  socket: z.string().min(1).default('/var/run/docker.sock'),
  tree: z.string().min(1).default('.'),
  assign: z.union([z.literal('auto'), z.array(z.string().min(1))]).default([]),
  replicas: z.int().min(1).optional(),
  cache: z.string().min(1).default('cache'),
  outputs: z.string().min(1).default('outputs'),
  pins: z.string().min(1).optional(),
  platforms: z.array(platformSchema).min(1).optional(),
  noCache: z.boolean().default(true),
  maxSourceBytes: z.int().min(1).default(8 * 1024 ** 3),
  // At most 24 days: a timer of more than 2^31-1 ms would fire at once.
  buildTimeoutSeconds: z.number().positive('expected seconds > 0').max(24 * 86_400, 'expected at most 24 days (2073600 s)').default(48 * 3600),
});

const apiSchema = z.strictObject({
  listen: z.string().regex(/^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$|^\//, 'expected a loopback host:port (127.0.0.1:7780) or an absolute unix socket path').default('127.0.0.1:7780'),
});

/**
 * A signer other than a key file (DESIGN section 4): an external command (`command`, run
 * without a shell, PAE bytes on stdin, the signature on stdout) or none online (`offline`:
 * statements wait for `stagex-node statements export`). Exactly one of the two.
 */
const signerSchema = z.strictObject({
  command: z.array(z.string().min(1, 'expected a non-empty argument')).min(1, 'expected [argv0, arg, ...]').optional(),
  offline: z.literal(true, 'expected true').optional(),
  publicKey: hex(32),
  timeoutSeconds: z.number().positive('expected seconds > 0').max(86_400, 'expected at most 86400 seconds').optional(),
}).superRefine((signer, context) => {
  if ((signer.command === undefined) === (signer.offline === undefined)) {
    context.addIssue({ code: 'custom', path: [], message: 'expected exactly one of command: [argv0, ...] or offline: true' });
  }
  if (signer.offline && signer.timeoutSeconds !== undefined) {
    context.addIssue({ code: 'custom', path: ['timeoutSeconds'], message: 'expected no timeoutSeconds with offline: true (nothing runs)' });
  }
});
export type SignerConfig = z.output<typeof signerSchema>;

export const configSchema = z.strictObject({
  // Editors find config.schema.json through it; the loader ignores its value.
  $schema: z.string().min(1).optional(),
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 letters, digits, dot, underscore or dash'),
  networkId: z.string().regex(/^[a-z0-9-]{1,64}$/, 'expected 1-64 lowercase letters, digits or dashes'),
  signingKey: z.string().min(1).optional(),
  signer: signerSchema.optional(),
  trust: trustSchema,
  store: z.string().min(1).default('store'),
  storeSync: z.boolean().default(false),
  network: networkSchema.default(networkSchema.parse({})),
  builder: builderSchema.default(builderSchema.parse({})),
  api: apiSchema.default(apiSchema.parse({})),
}).superRefine((config, context) => {
  if ((config.signingKey === undefined) === (config.signer === undefined)) {
    context.addIssue({ code: 'custom', path: config.signer === undefined ? ['signingKey'] : ['signer'], message: 'expected exactly one of signingKey (a key file) or signer (a command, or offline)' });
  }
});
export type ConfigFile = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema> & { file: string; dir: string };

/** Reads, validates and resolves the config file; DaemonError CONFIG_NOT_FOUND or BAD_CONFIG. */
export async function loadConfig(file: string): Promise<Config> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DaemonError('CONFIG_NOT_FOUND', `config ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); make one with \`stagex-node init\``);
  }
  return parseConfigText(text, path);
}

/** The config file's text (JSON with "//" comment keys) validated and resolved; DaemonError BAD_CONFIG. */
export function parseConfigText(text: string, path: string): Config {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DaemonError('BAD_CONFIG', `config ${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseConfig(json, path);
}

/** A program with a slash is a path, taken from the config's directory; without one, it is looked up on PATH. */
function programAt(dir: string, program: string): string {
  return program.includes('/') ? resolve(dir, program) : program;
}

/** Validates a parsed config object; paths in it are resolved against the file's directory. */
export function parseConfig(json: unknown, path: string): Config {
  const parsed = configSchema.safeParse(withoutComments(json));
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues, json);
    throw new DaemonError('BAD_CONFIG', `config ${path}: ${lines.length} problem(s):\n${lines.join('\n')}`);
  }
  const dir = dirname(path);
  const config = parsed.data;
  const at = (p: string) => resolve(dir, p);
  return {
    ...config,
    file: path,
    dir,
    ...(config.signingKey === undefined ? {} : { signingKey: at(config.signingKey) }),
    ...(config.signer?.command === undefined ? {} : { signer: { ...config.signer, command: [programAt(dir, config.signer.command[0]!), ...config.signer.command.slice(1)] } }),
    store: at(config.store),
    network: { ...config.network, identityKey: at(config.network.identityKey) },
    trust: { ...config.trust, keys: config.trust.keys.map((k) => (k.openpgp ? { ...k, openpgp: k.openpgp.map((o) => ({ ...o, certificate: at(o.certificate) })) } : k)) },
    builder: { ...config.builder, tree: at(config.builder.tree), cache: at(config.builder.cache), outputs: at(config.builder.outputs), ...(config.builder.pins === undefined ? {} : { pins: at(config.builder.pins) }) },
  };
}
