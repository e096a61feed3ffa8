/**
 * How batches cross to and from verify workers (daemon/verify-pool.ts): many byte strings back to
 * back in one buffer with their end offsets, so a batch is one copy and one transferred
 * ArrayBuffer instead of a structured clone per envelope (and per envelope's backing buffer).
 */

/** Byte strings back to back: string i is data[ends[i - 1] ?? 0, ends[i]). */
export interface Packed {
  data: Uint8Array;
  ends: Uint32Array;
}

/** Copies `list` into one fresh buffer, which the sender may transfer (it owns it alone). */
export function pack(list: readonly Uint8Array[]): Packed {
  let size = 0;
  for (const bytes of list) size += bytes.length;
  const data = new Uint8Array(size);
  const ends = new Uint32Array(list.length);
  let at = 0;
  list.forEach((bytes, i) => {
    data.set(bytes, at);
    at += bytes.length;
    ends[i] = at;
  });
  return { data, ends };
}

/** The byte strings of a packed buffer, as views of it (no copy). */
export function unpack({ data, ends }: Packed): Uint8Array[] {
  const list: Uint8Array[] = new Array(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    list[i] = data.subarray(start, ends[i]);
    start = ends[i]!;
  }
  return list;
}

/** What to transfer with a packed buffer. */
export function transferOf(packed: Packed): ArrayBuffer[] {
  return [packed.data.buffer as ArrayBuffer, packed.ends.buffer as ArrayBuffer];
}
