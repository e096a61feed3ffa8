/**
 * The known-answer vectors of the canonical image (test/vectors/canonical-images.json): their
 * engine images written as a docker-archive, the way the vector file's `about` describes.
 */
import { readFileSync } from 'node:fs';
import { type Entry, imageArchive, tarOf } from './image-archive.ts';

/** A layer entry as the vector file writes it: tar-stream's fields, `mode` in octal, content given or repeated. */
interface VectorEntry extends Omit<Entry, 'mode' | 'content'> {
  mode?: string;
  content?: string;
  repeat?: { text: string; size: number };
}

export interface CanonicalVector {
  name: string;
  about: string;
  config: Record<string, unknown>;
  layers: { compress?: 'gzip'; entries: VectorEntry[] }[];
  /** sha256 (hex) of the canonical layer, config and manifest (the output digest). */
  expected: { layer: string; config: string; manifest: string };
}

export const VECTOR_FILE = new URL('../vectors/canonical-images.json', import.meta.url);

export function readVectors(): CanonicalVector[] {
  return (JSON.parse(readFileSync(VECTOR_FILE, 'utf8')) as { vectors: CanonicalVector[] }).vectors;
}

/** The vector's image as a docker-archive (Docker 25+ form). */
export async function vectorArchive(vector: CanonicalVector): Promise<Buffer> {
  const layers = await Promise.all(vector.layers.map(async ({ compress, entries }) => ({
    tar: await tarOf(entries.map(toEntry)),
    ...(compress === undefined ? {} : { compress }),
  })));
  return imageArchive(layers, vector.config, 'docker-oci');
}

function toEntry({ mode, content, repeat, ...rest }: VectorEntry): Entry {
  const entry: Entry = { ...rest };
  if (mode !== undefined) entry.mode = Number.parseInt(mode, 8);
  if (repeat !== undefined) entry.content = repeat.text.repeat(Math.ceil(repeat.size / repeat.text.length)).slice(0, repeat.size);
  else if (content !== undefined) entry.content = content;
  return entry;
}
