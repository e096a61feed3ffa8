/**
 * The in-toto Statement v1 with a SLSA provenance v1 predicate that a reproducer signs
 * (DESIGN section 4). Parsed with zod after the signature holds; unknown extra fields are kept
 * (forward compatibility), required ones are checked.
 */
import { z } from 'zod';
import { ProtocolError } from './errors.ts';
import { utf8 } from './encoding.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const PROVENANCE_TYPE = 'https://slsa.dev/provenance/v1';
/** This project's buildType URI for a StageX reproduction. */
export const BUILD_TYPE = 'https://stagex-node.dev/reproduction/v1';
export const SUBJECT_PREFIX = 'stagex/';

export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters (sha256)');
const IMAGE_NAME = '(bootstrap|core|pallet|user)-[A-Za-z0-9][A-Za-z0-9._+-]*';
export const imageNameSchema = z.string().regex(new RegExp(`^${IMAGE_NAME}$`), 'expected <stage>-<name> with stage bootstrap, core, pallet or user');
/** A subject's name: the image name behind SUBJECT_PREFIX. */
const SUBJECT_NAME = new RegExp(`^${SUBJECT_PREFIX}${IMAGE_NAME}$`);
export const platformSchema = z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'expected os/arch[/variant], e.g. linux/amd64');
const timeSchema = z.iso.datetime({ offset: true });

const resourceSchema = z.looseObject({
  name: z.string().max(256).optional(),
  uri: z.string().max(2048).optional(),
  digest: z.looseObject({ sha256: sha256HexSchema }).optional(),
  annotations: z.record(z.string(), z.string().max(256)).optional(),
});

export const statementSchema = z.looseObject({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({
    // One regex, then the prefix dropped: the subject took a quarter of the schema's CPU, most of it in two pipes.
    name: z.string().regex(SUBJECT_NAME, `expected ${SUBJECT_PREFIX}<stage>-<name> with stage bootstrap, core, pallet or user`).transform((s) => s.slice(SUBJECT_PREFIX.length)),
    digest: z.looseObject({ sha256: sha256HexSchema }),
  })).length(1),
  predicateType: z.literal(PROVENANCE_TYPE),
  predicate: z.looseObject({
    buildDefinition: z.looseObject({
      buildType: z.literal(BUILD_TYPE),
      externalParameters: z.looseObject({
        package: z.string().min(1).max(256),
        version: z.string().max(256),
        platform: platformSchema,
        /** The Containerfile stage built; empty: no --target, the last stage. */
        target: z.string().max(256),
        treeRevision: z.string().max(256).optional(),
        inputDigest: sha256HexSchema,
      }),
      resolvedDependencies: z.array(resourceSchema).max(4096),
    }),
    runDetails: z.looseObject({
      builder: z.looseObject({ id: z.string().min(1).max(512) }),
      metadata: z.looseObject({ startedOn: timeSchema, finishedOn: timeSchema }),
      byproducts: z.array(resourceSchema).max(64).optional(),
    }),
  }),
});
export type ParsedStatement = z.output<typeof statementSchema>;

/** What a reproducer knows about one finished build; `buildStatement` turns it into a statement. */
export interface BuildFacts {
  image: string;
  package: string;
  version: string;
  platform: string;
  target: string;
  treeRevision?: string;
  inputDigest: string;
  /** Canonical output digest, hex (DESIGN section 3). */
  digest: string;
  /** The engine's own OCI manifest digest, hex, when it has one. */
  engineDigest?: string;
  sources: { uri: string; sha256: string }[];
  dependencies: { image: string; digest: string }[];
  builderId: string;
  startedOn: string;
  finishedOn: string;
  machine?: Record<string, string>;
}

/** Builds the statement object for a finished build; callers serialise it once and sign those bytes. */
export function buildStatement(facts: BuildFacts): Record<string, unknown> {
  const byproducts: Record<string, unknown>[] = [];
  if (facts.engineDigest) byproducts.push({ name: 'engineDigest', digest: { sha256: facts.engineDigest } });
  if (facts.machine) byproducts.push({ name: 'machine', annotations: facts.machine });
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: SUBJECT_PREFIX + facts.image, digest: { sha256: facts.digest } }],
    predicateType: PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          package: facts.package,
          version: facts.version,
          platform: facts.platform,
          target: facts.target,
          ...(facts.treeRevision ? { treeRevision: facts.treeRevision } : {}),
          inputDigest: facts.inputDigest,
        },
        resolvedDependencies: [
          ...facts.sources.map((s) => ({ uri: s.uri, digest: { sha256: s.sha256 } })),
          ...facts.dependencies.map((d) => ({ name: SUBJECT_PREFIX + d.image, digest: { sha256: d.digest } })),
        ],
      },
      runDetails: {
        builder: { id: facts.builderId },
        metadata: { startedOn: facts.startedOn, finishedOn: facts.finishedOn },
        byproducts,
      },
    },
  };
}

/** Parses verified payload bytes; BAD_STATEMENT names the failing field. */
export function parseStatement(payload: Uint8Array, where: string): ParsedStatement {
  let json: unknown;
  try {
    json = JSON.parse(utf8(payload));
  } catch (error) {
    throw new ProtocolError('BAD_STATEMENT', `${where}: payload is not JSON (${(error as Error).message})`);
  }
  const parsed = statementSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProtocolError('BAD_STATEMENT', `${where}: statement at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The engine digest a statement records among its byproducts, if any. */
export function engineDigestOf(statement: ParsedStatement): string | undefined {
  return statement.predicate.runDetails.byproducts?.find((b) => b.name === 'engineDigest')?.digest?.sha256;
}
