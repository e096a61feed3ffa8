/**
 * tar header blocks (DESIGN section 3): decoding what engines write (POSIX ustar and pax, GNU long
 * names and base-256 numbers, v7) and encoding the canonical layer's headers. Pure: bytes in,
 * bytes out, no I/O.
 *
 * Paths, link targets and xattr values are "byte strings": latin1-decoded, one char per byte. That
 * keeps non-UTF-8 names intact, and JavaScript's string order is then the bytewise order the
 * canonical layer is sorted by.
 */
import { CanonicalError } from './errors.ts';

export const BLOCK_SIZE = 512;

/** Kinds of tar entries that describe a file system object. */
export type EntryType = 'file' | 'hardlink' | 'symlink' | 'directory' | 'char' | 'block' | 'fifo';

/** Type flags of the entries that carry metadata for the entry after them. */
export type MetaType = 'pax' | 'pax-global' | 'gnu-long-name' | 'gnu-long-link';

const TYPES: Record<string, EntryType | MetaType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block',
  '5': 'directory', '6': 'fifo', x: 'pax', g: 'pax-global', L: 'gnu-long-name', K: 'gnu-long-link',
};
const FLAGS: Record<'file' | 'hardlink' | 'symlink' | 'directory', string> = { file: '0', hardlink: '1', symlink: '2', directory: '5' };

/** One header block as written, before pax or GNU long-name records are applied to it. */
export interface HeaderBlock {
  type: EntryType | MetaType;
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

/** Field offsets and lengths of the ustar header (POSIX.1-2001, pax "ustar Interchange Format"). */
const F = {
  name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12],
  chksum: [148, 8], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], version: [263, 2],
  uname: [265, 32], gname: [297, 32], devmajor: [329, 8], devminor: [337, 8], prefix: [345, 155],
} as const;
type Field = keyof typeof F;

/**
 * Decodes one header block; null for an all-zero block (the end of an archive). `where` names the
 * archive and byte offset for error messages.
 */
export function decodeHeader(block: Buffer, where: string): HeaderBlock | null {
  if (block.length !== BLOCK_SIZE) throw new CanonicalError('BAD_TAR', `${where}: expected a ${BLOCK_SIZE}-byte header, got ${block.length} bytes`);
  if (isZero(block)) return null;
  const recorded = decodeNumber(block, 'chksum', where);
  const [unsigned, signed] = checksums(block);
  if (recorded !== unsigned && recorded !== signed) {
    throw new CanonicalError('BAD_TAR', `${where}: header checksum expected ${unsigned}, got ${recorded} (not a tar archive, or corrupt)`);
  }
  const flag = String.fromCharCode(block[F.typeflag[0]]!);
  const known = TYPES[flag];
  if (known === undefined) throw new CanonicalError('BAD_TAR', `${where}: unsupported entry type ${JSON.stringify(flag)} (expected one of 0-7, x, g, L, K)`);
  let name = decodeString(block, 'name');
  // Only POSIX ustar has a prefix field; GNU's magic "ustar  " keeps times there.
  if (block.toString('latin1', F.magic[0], F.magic[0] + 6) === 'ustar\0') {
    const prefix = decodeString(block, 'prefix');
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  // Pre-POSIX archives (type flag NUL) mark directories by a trailing slash only.
  const type = flag === '\0' && name.endsWith('/') ? 'directory' : known;
  return {
    type,
    name,
    linkname: decodeString(block, 'linkname'),
    mode: decodeNumber(block, 'mode', where),
    uid: decodeNumber(block, 'uid', where),
    gid: decodeNumber(block, 'gid', where),
    size: decodeNumber(block, 'size', where),
  };
}

/** Whether entries of this type have data blocks after their header (as Go's archive/tar reads). */
export function hasData(type: EntryType | MetaType): boolean {
  return type === 'file' || type === 'pax' || type === 'pax-global' || type === 'gnu-long-name' || type === 'gnu-long-link';
}

/** Bytes of data blocks, padding included, that follow a header announcing `size` bytes. */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE;
}

/** Parses pax extended header records ("<length> <key>=<value>\n"); values as byte strings. */
export function decodePaxRecords(data: Buffer, where: string): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // NUL padding some writers leave after the last record
    const space = data.indexOf(0x20, at);
    const length = space > at ? Number(data.toString('latin1', at, space)) : NaN;
    const end = at + length;
    if (!Number.isSafeInteger(length) || length <= space - at || end > data.length || data[end - 1] !== 0x0a) {
      throw new CanonicalError('BAD_TAR', `${where}: pax record at byte ${at} expected "<length> <key>=<value>\\n", got ${JSON.stringify(data.toString('latin1', at, Math.min(at + 40, data.length)))}`);
    }
    const equals = data.indexOf(0x3d, space + 1);
    if (equals < 0 || equals >= end) throw new CanonicalError('BAD_TAR', `${where}: pax record at byte ${at} has no "="`);
    records.set(data.toString('latin1', space + 1, equals), data.toString('latin1', equals + 1, end - 1));
    at = end;
  }
  return records;
}

/** An entry of the canonical layer, its rules already applied (see squash.ts). */
export interface CanonicalHeader {
  /** Byte string, no leading `./` or `/`, no trailing `/`. */
  path: string;
  type: 'file' | 'hardlink' | 'symlink' | 'directory';
  mode: number;
  uid: number;
  gid: number;
  /** Data bytes after the header: files only, 0 for the others. */
  size: number;
  /** Symlink target as recorded, or the path a hard link points at; '' otherwise. */
  linkname: string;
  /** The `security.capability` xattr, the only one kept (DESIGN section 3). */
  capability?: string;
}

/**
 * Encodes the header of a canonical entry: a ustar block, preceded by a pax header only for values
 * ustar cannot hold (a name longer than its name/prefix split, a link target over 100 bytes,
 * numbers over their octal field, the capability xattr). Names are bytes as recorded, UTF-8 or not:
 * unlike Go's writer, a non-ASCII name that fits stays in ustar fields. Directory names end in "/".
 * Fields are formatted as Go's archive/tar writes them: zero-padded octal ending in NUL, mtime 0,
 * user and group names empty, magic "ustar\0" version "00". The pax header's own fields are all
 * zero and its name is "PaxHeader".
 */
export function encodeHeader(entry: CanonicalHeader): Buffer {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const pax: [string, string][] = [];
  const split = splitName(name);
  if (split === null) pax.push(['path', name]);
  if (byteLength(entry.linkname) > F.linkname[1]) pax.push(['linkpath', entry.linkname]);
  for (const key of ['uid', 'gid', 'size'] as const) {
    if (!fitsOctal(entry[key], F[key][1])) pax.push([key, String(entry[key])]);
  }
  if (entry.capability !== undefined) pax.push(['SCHILY.xattr.security.capability', entry.capability]);
  const block = ustarBlock({
    name: split?.name ?? name.slice(0, F.name[1]), prefix: split?.prefix ?? '', flag: FLAGS[entry.type],
    linkname: entry.linkname.slice(0, F.linkname[1]), mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size,
  });
  if (pax.length === 0) return block;
  const data = encodePaxRecords(pax);
  const header = ustarBlock({ name: 'PaxHeader', prefix: '', flag: 'x', linkname: '', mode: 0, uid: 0, gid: 0, size: data.length });
  const out = Buffer.alloc(BLOCK_SIZE + paddedSize(data.length) + BLOCK_SIZE);
  header.copy(out, 0);
  data.copy(out, BLOCK_SIZE);
  block.copy(out, out.length - BLOCK_SIZE);
  return out;
}

/** pax records sorted by key, each "<length> <key>=<value>\n" with its own length counted. */
export function encodePaxRecords(records: [string, string][]): Buffer {
  const sorted = [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const text = sorted.map(([key, value]) => {
    const rest = byteLength(key) + byteLength(value) + 3; // " ", "=", "\n"
    let length = rest + String(rest).length;
    if (String(length).length !== String(rest).length) length = rest + String(length).length;
    return `${length} ${key}=${value}\n`;
  }).join('');
  return Buffer.from(text, 'latin1');
}

interface UstarFields { name: string; prefix: string; flag: string; linkname: string; mode: number; uid: number; gid: number; size: number }

/** What every canonical header has in common: mtime 0, magic, version, device numbers 0. */
const TEMPLATE = (() => {
  const block = Buffer.alloc(BLOCK_SIZE);
  writeOctal(block, 'mtime', 0);
  writeString(block, 'magic', 'ustar\0');
  writeString(block, 'version', '00');
  writeOctal(block, 'devmajor', 0);
  writeOctal(block, 'devminor', 0);
  return block;
})();

function ustarBlock(fields: UstarFields): Buffer {
  const block = Buffer.allocUnsafe(BLOCK_SIZE);
  TEMPLATE.copy(block);
  writeString(block, 'name', fields.name);
  writeOctal(block, 'mode', fields.mode);
  writeOctal(block, 'uid', fitsOctal(fields.uid, F.uid[1]) ? fields.uid : 0);
  writeOctal(block, 'gid', fitsOctal(fields.gid, F.gid[1]) ? fields.gid : 0);
  writeOctal(block, 'size', fitsOctal(fields.size, F.size[1]) ? fields.size : 0);
  writeString(block, 'typeflag', fields.flag);
  writeString(block, 'linkname', fields.linkname);
  writeString(block, 'prefix', fields.prefix);
  const [sum] = checksums(block);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, F.chksum[0], 'latin1');
  return block;
}

/**
 * Splits a name over ustar's prefix (155 bytes) and name (100 bytes) fields at a `/`, the last one
 * that leaves a non-empty name (Go's splitUSTARPath); null when no split fits.
 */
function splitName(name: string): { prefix: string; name: string } | null {
  if (byteLength(name) <= F.name[1]) return { prefix: '', name };
  const limit = name.length > F.prefix[1] + 1 ? F.prefix[1] + 1 : name.endsWith('/') ? name.length - 1 : name.length;
  const slash = name.lastIndexOf('/', limit - 1);
  const rest = name.length - slash - 1;
  if (slash <= 0 || rest === 0 || rest > F.name[1]) return null;
  return { prefix: name.slice(0, slash), name: name.slice(slash + 1) };
}

/** Byte strings are latin1: one char per byte, and code points above 255 cannot occur. */
function byteLength(text: string): number {
  return text.length;
}

function fitsOctal(value: number, field: number): boolean {
  return value < 8 ** (field - 1);
}

function writeOctal(block: Buffer, field: Field, value: number): void {
  const [at, length] = F[field];
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, at, 'latin1');
}

function writeString(block: Buffer, field: Field, text: string): void {
  const [at, length] = F[field];
  block.write(text, at, length, 'latin1');
}

function decodeString(block: Buffer, field: Field): string {
  const [at, length] = F[field];
  const nul = block.indexOf(0, at);
  return block.toString('latin1', at, nul >= 0 && nul < at + length ? nul : at + length);
}

/** Octal (leading spaces, ending at NUL or space) or GNU base-256 (first byte's high bit set). */
function decodeNumber(block: Buffer, field: Field, where: string): number {
  const [at, length] = F[field];
  const first = block[at]!;
  if (first & 0x80) {
    if (first === 0xff) throw new CanonicalError('BAD_TAR', `${where}: ${field} expected a non-negative number, got a negative base-256 value`);
    let value = first & 0x7f;
    for (let i = at + 1; i < at + length; i++) value = value * 256 + block[i]!;
    if (!Number.isSafeInteger(value)) throw new CanonicalError('BAD_TAR', `${where}: ${field} expected a number below 2^53, got a larger base-256 value`);
    return value;
  }
  let i = at;
  const end = at + length;
  while (i < end && block[i] === 0x20) i++;
  let value = 0;
  for (; i < end && block[i] !== 0 && block[i] !== 0x20; i++) {
    const digit = block[i]! - 0x30;
    if (digit < 0 || digit > 7) {
      throw new CanonicalError('BAD_TAR', `${where}: ${field} expected octal digits, got ${JSON.stringify(block.toString('latin1', at, end))}`);
    }
    value = value * 8 + digit;
  }
  return value;
}

/** Header sums with the checksum field counted as spaces: unsigned bytes (POSIX) and signed (old tars). */
function checksums(block: Buffer): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= F.chksum[0] && i < F.chksum[0] + F.chksum[1] ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return [unsigned, signed];
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}
