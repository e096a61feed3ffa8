/**
 * The offline signing round trip (DESIGN section 4: keys on air-gapped machines and smart cards).
 * `exportStatements` writes, per waiting statement, `<name>.payload.json` (the exact in-toto
 * payload bytes) and `<name>.pae` (the DSSE PAE of those bytes: what an ed25519 tool signs), with
 * `<name>` = `<image>-<first 12 hex of the input digest>`, and an `index.json` that lists them and
 * says how to sign. Any ed25519 tool signs the `.pae` files, writing `<name>.sig` beside them (64
 * raw bytes, hex or base64: protocol/signature-bytes.ts). `importSignatures` turns each signed
 * file into a DSSE envelope over the exact payload bytes, after checking that the payload is
 * still the statement this node's build produced and that the signature holds under the node's
 * public key (pinned rule); each file stands alone, so a bad one changes nothing.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { encodeEnvelope, envelopeOf, preAuthEncoding } from '../../protocol/dsse.ts';
import { createVerifier } from '../../protocol/ed25519.ts';
import { sha256Hex, toHex, withoutComments } from '../../protocol/encoding.ts';
import { describeIssues, StagexError } from '../../protocol/errors.ts';
import { decodeSignature } from '../../protocol/signature-bytes.ts';
import { imageNameSchema, PAYLOAD_TYPE, platformSchema, sha256HexSchema } from '../../protocol/statement.ts';
import type { ImportOutcome, Submit } from '../ingest.ts';
import { SignerError } from './errors.ts';
import { readWaiting, type WaitingStatement } from './waiting.ts';

export const INDEX_FILE = 'index.json';
const FORMAT = 'stagex-node/unsigned-statements/1';
/** A signature file larger than this is no signature (base64 with CRLF is 90 bytes). */
const MAX_SIGNATURE_FILE = 4096;

const indexSchema = z.strictObject({
  format: z.literal(FORMAT),
  payloadType: z.literal(PAYLOAD_TYPE),
  keyid: sha256HexSchema,
  publicKey: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters'),
  statements: z.array(z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'expected a plain file name stem'),
    image: imageNameSchema,
    platform: platformSchema,
    inputDigest: sha256HexSchema,
    digest: sha256HexSchema,
    payloadSha256: sha256HexSchema,
  })),
});
export type Index = z.output<typeof indexSchema>;
type IndexEntry = Index['statements'][number];

/** The public half of the node's key. */
export interface NodeKey {
  publicKey: Uint8Array;
  keyid: string;
}

export interface ExportedStatement {
  name: string;
  image: string;
  platform: string;
  inputDigest: string;
  digest: string;
  /** The file to sign, and where its signature goes. */
  pae: string;
  sig: string;
}

/** Writes the files of `statements` into `dir` (created when missing); `.sig` files already there are left alone. */
export async function exportStatements(dir: string, statements: readonly WaitingStatement[], key: NodeKey): Promise<ExportedStatement[]> {
  await mkdir(dir, { recursive: true });
  const entries: IndexEntry[] = [];
  for (const s of statements) {
    const name = `${s.image}-${s.inputDigest.slice(0, 12)}`;
    await writeFile(join(dir, `${name}.payload.json`), s.payload);
    await writeFile(join(dir, `${name}.pae`), preAuthEncoding(PAYLOAD_TYPE, s.payload));
    entries.push({ name, image: s.image, platform: s.platform, inputDigest: s.inputDigest, digest: s.digest, payloadSha256: sha256Hex(s.payload) });
  }
  const index = {
    '//': 'Statements waiting for an offline ed25519 signature (stagex-node statements export). For each entry, sign the exact bytes of <name>.pae with the private key of `publicKey` and write the 64-byte signature (raw, hex or base64) to <name>.sig beside it, e.g. `openssl pkeyutl -sign -inkey key.pem -rawin -in NAME.pae -out NAME.sig`; then run `stagex-node statements import <this dir>` on the node. <name>.payload.json is the in-toto statement the .pae wraps (DSSE PAE: "DSSEv1" SP len(type) SP type SP len(body) SP body).',
    format: FORMAT,
    payloadType: PAYLOAD_TYPE,
    keyid: key.keyid,
    publicKey: toHex(key.publicKey),
    statements: entries,
  } satisfies Index & { '//': string };
  await writeFile(join(dir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return entries.map((e) => ({ name: e.name, image: e.image, platform: e.platform, inputDigest: e.inputDigest, digest: e.digest, pae: join(dir, `${e.name}.pae`), sig: join(dir, `${e.name}.sig`) }));
}

/** Reads `dir/index.json`; BAD_STATEMENTS names the file, the field and what was expected. */
export async function readIndex(dir: string): Promise<Index> {
  const path = join(dir, INDEX_FILE);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new SignerError('BAD_STATEMENTS', `${path}: expected the index that \`stagex-node statements export\` writes, got ${error.code ?? error.message}`, { cause: error });
  });
  return parseIndex(text, path);
}

/** The text of an index.json named `path`; BAD_STATEMENTS names the file, the field and what was expected. */
export function parseIndex(text: string, path: string): Index {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SignerError('BAD_STATEMENTS', `${path}: expected the index that \`stagex-node statements export\` writes, got ${(error as Error).message}`, { cause: error });
  }
  const parsed = indexSchema.safeParse(withoutComments(json));
  if (!parsed.success) throw new SignerError('BAD_STATEMENTS', `${path}:\n${describeIssues(parsed.error.issues, json).join('\n')}`);
  return parsed.data;
}

/**
 * Imports every signed statement of `dir`: one outcome per index entry, in order. `outputs` holds
 * the statements this node's builds produced; `submit` is the validation pipeline (store, or the
 * running daemon). A key mismatch between the index and the node is BAD_STATEMENTS for the whole
 * directory; everything else is reported per file.
 */
export async function importSignatures(dir: string, outputs: string, key: NodeKey, submit: Submit): Promise<ImportOutcome[]> {
  const index = await readIndex(dir);
  if (index.keyid !== key.keyid) {
    throw new SignerError('BAD_STATEMENTS', `${join(dir, INDEX_FILE)}: expected statements exported for this node's key ${key.keyid}, got keyid ${index.keyid}`);
  }
  const verify = createVerifier(key.publicKey);
  const outcomes: ImportOutcome[] = [];
  for (const entry of index.statements) {
    const file = join(dir, `${entry.name}.sig`);
    try {
      const payload = await ownPayload(dir, outputs, entry);
      const signature = decodeSignature(await readSignatureFile(file), file);
      const pae = preAuthEncoding(PAYLOAD_TYPE, payload);
      if (!verify(pae, signature)) {
        throw new SignerError('SIGNER_BAD_SIGNATURE', `${file}: expected a signature of ${entry.name}.pae that holds under keyid ${key.keyid}, got one that does not (another key, or other bytes signed)`);
      }
      const bytes = encodeEnvelope(envelopeOf(PAYLOAD_TYPE, payload, [{ keyid: key.keyid, sig: signature }]));
      outcomes.push({ file, ...(await submit(bytes, file)) });
    } catch (error) {
      if (!(error instanceof StagexError)) throw error;
      outcomes.push({ file, result: 'error', code: error.code, error: error.message });
    }
  }
  return outcomes;
}

/** The exported payload bytes, when they are exactly the statement this node keeps for that build. */
async function ownPayload(dir: string, outputs: string, entry: IndexEntry): Promise<Uint8Array> {
  const file = join(dir, `${entry.name}.payload.json`);
  const payload = new Uint8Array(await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new SignerError('BAD_STATEMENTS', `${file}: expected the exported payload, got ${error.code ?? error.message}`);
  }));
  const kept = await readWaiting(outputs, entry.inputDigest);
  if (!kept) throw new SignerError('STATEMENT_CHANGED', `${file}: expected a statement this node's build of ${entry.image} (input ${entry.inputDigest}) produced, got one for a build that has none here`);
  if (sha256Hex(payload) !== sha256Hex(kept.payload)) {
    throw new SignerError('STATEMENT_CHANGED', `${file}: expected the payload this node produced (sha256 ${sha256Hex(kept.payload)}), got other bytes (sha256 ${sha256Hex(payload)})`);
  }
  return payload;
}

async function readSignatureFile(file: string): Promise<Uint8Array> {
  const size = await stat(file).then((s) => s.size, (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new SignerError('NO_SIGNATURE', `${file}: expected the signature of the .pae beside it, got no such file`);
    throw error;
  });
  if (size > MAX_SIGNATURE_FILE) throw new SignerError('SIGNER_OUTPUT', `${file}: expected one ed25519 signature (at most ${MAX_SIGNATURE_FILE} bytes), got ${size} bytes`);
  return new Uint8Array(await readFile(file));
}
