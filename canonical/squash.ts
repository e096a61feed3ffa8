/**
 * Squashing an image's layers into the entries of its canonical layer (DESIGN section 3): OCI
 * whiteouts applied, the `./` root entry dropped, missing parent directories as 0755 0:0, entries
 * sorted bytewise by path, modes masked to 07777 (symlinks 0777), hard links pointing at the
 * bytewise-smallest path of their group, fifos and device nodes refused. Pure, no I/O: file content
 * stays wherever the caller's source value `S` says it is.
 */
import { CanonicalError } from './errors.ts';
import type { CanonicalHeader, EntryType } from './tar.ts';

/** One entry of a layer as read (strings are byte strings, see tar.ts): a header's fields, any type. */
export interface LayerEntry<S> extends Omit<CanonicalHeader, 'type'> {
  type: EntryType;
  /** Where a file's data lies. */
  source: S;
}

/** An entry of the canonical layer; `source` is set on files, whose data follows their header. */
export interface CanonicalEntry<S> extends CanonicalHeader {
  source?: S;
}

/** A file system object other than a directory; hard links share one object. */
interface Inode<S> extends Omit<LayerEntry<S>, 'type' | 'path'> {
  type: Exclude<EntryType, 'directory' | 'hardlink'>;
}

interface Directory<S> {
  type: 'directory';
  mode: number;
  uid: number;
  gid: number;
  capability?: string;
  children: Map<string, Node<S>>;
}

type Node<S> = Inode<S> | Directory<S>;

/** OCI image spec, "Whiteouts": `.wh.<name>` deletes `<name>`, `.wh..wh..opq` empties its directory. */
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** Other `.wh..wh.` names are aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`), not content. */
const WHITEOUT_META = '.wh..wh.';

/** The merged file system of the layers applied so far. */
export class Squash<S> {
  readonly #root: Directory<S> = directory(0o755, 0, 0);

  /**
   * Applies one layer on top of the ones before. Whiteouts go first: they hide only what lower
   * layers hold, never entries of their own layer (OCI image spec). Entries then apply in archive
   * order, so a repeated path keeps its last entry, as extraction would.
   */
  applyLayer(entries: readonly LayerEntry<S>[], where: string): void {
    const parsed = entries.map((entry) => ({ entry, parts: splitPath(entry.path, where) }));
    for (const { parts } of parsed) {
      const base = parts.at(-1);
      if (base?.startsWith(WHITEOUT)) this.#whiteout(parts.slice(0, -1), base);
    }
    for (const { entry, parts } of parsed) {
      if (!parts.at(-1)?.startsWith(WHITEOUT)) this.#add(parts, entry, where);
    }
  }

  /**
   * The canonical layer's entries, sorted bytewise by path. The checks run now (SPECIAL_FILE if a
   * fifo or device remains); entries are then made one at a time as the writer takes them.
   */
  entries(): Iterable<CanonicalEntry<S>> {
    const all: { path: string; node: Node<S> }[] = [];
    const pending: [string, Directory<S>][] = [['', this.#root]];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const [prefix, dir] = next;
      for (const [name, node] of dir.children) {
        const path = prefix === '' ? name : `${prefix}/${name}`;
        all.push({ path, node });
        if (node.type === 'directory') pending.push([path, node]);
      }
    }
    all.sort((a, b) => (a.path < b.path ? -1 : 1));
    const special = all.filter(({ node }) => node.type === 'char' || node.type === 'block' || node.type === 'fifo');
    if (special.length > 0) {
      const shown = special.slice(0, 5).map(({ path, node }) => `${showPath(path)} (${node.type})`).join(', ');
      throw new CanonicalError('SPECIAL_FILE', `image holds ${special.length} fifo(s) or device node(s): ${shown}; expected only files, directories and links (a canonical layer cannot carry them)`);
    }
    const primaries = new Map<Inode<S>, string>();
    return (function* () {
      for (const { path, node } of all) yield canonical(path, node, primaries);
    })();
  }

  #whiteout(parentParts: string[], base: string): void {
    const parent = this.#find(parentParts);
    if (parent?.type !== 'directory') return;
    if (base === OPAQUE) parent.children.clear();
    else if (!base.startsWith(WHITEOUT_META)) parent.children.delete(base.slice(WHITEOUT.length));
  }

  #add(parts: string[], entry: LayerEntry<S>, where: string): void {
    const name = parts.at(-1);
    if (name === undefined) return; // the root entry: dropped, its metadata is the engine's
    const parent = this.#parentOf(parts, where);
    const existing = parent.children.get(name);
    if (entry.type === 'directory') {
      if (existing?.type === 'directory') {
        Object.assign(existing, { mode: entry.mode, uid: entry.uid, gid: entry.gid, capability: entry.capability });
      } else {
        parent.children.set(name, { ...directory(entry.mode, entry.uid, entry.gid), capability: entry.capability });
      }
      return;
    }
    if (entry.type === 'hardlink') {
      const target = this.#find(splitPath(entry.linkname, where));
      if (target === undefined || target.type === 'directory') {
        throw new CanonicalError('BAD_LAYER', `${where}: hard link ${showPath(entry.path)} expected a file or link at ${showPath(entry.linkname)}, got ${target === undefined ? 'nothing' : 'a directory'}`);
      }
      parent.children.set(name, target);
      return;
    }
    const { type, mode, uid, gid, size, linkname, capability, source } = entry;
    parent.children.set(name, { type, mode, uid, gid, size, linkname, capability, source });
  }

  /** The directory that holds `parts`, creating missing ancestors as 0755 0:0 (DESIGN section 3). */
  #parentOf(parts: string[], where: string): Directory<S> {
    let dir = this.#root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      let child = dir.children.get(part);
      if (child === undefined) {
        child = directory(0o755, 0, 0);
        dir.children.set(part, child);
      } else if (child.type !== 'directory') {
        throw new CanonicalError('BAD_LAYER', `${where}: ${showPath(parts.join('/'))} expected its parent ${showPath(parts.slice(0, i + 1).join('/'))} to be a directory, got a ${child.type}`);
      }
      dir = child;
    }
    return dir;
  }

  #find(parts: string[]): Node<S> | undefined {
    let node: Node<S> | undefined = this.#root;
    for (const part of parts) {
      if (node?.type !== 'directory') return undefined;
      node = node.children.get(part);
    }
    return node;
  }
}

/** Path components without `.`, empty parts or leading `/`; BAD_LAYER for `..`, which would leave the root. */
export function splitPath(path: string, where: string): string[] {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new CanonicalError('BAD_LAYER', `${where}: path ${showPath(path)} expected to stay inside the image, got a ".." component`);
  return parts;
}

/** A byte-string path as text for messages. */
export function showPath(path: string): string {
  return JSON.stringify(Buffer.from(path, 'latin1').toString('utf8'));
}

function directory<S>(mode: number, uid: number, gid: number): Directory<S> {
  return { type: 'directory', mode, uid, gid, children: new Map() };
}

/** Applies DESIGN section 3's entry rules; the first (smallest) path of an inode carries it. */
function canonical<S>(path: string, node: Node<S>, primaries: Map<Inode<S>, string>): CanonicalEntry<S> {
  const base = { path, uid: node.uid, gid: node.gid, mode: node.mode & 0o7777, size: 0, linkname: '' };
  if (node.type === 'directory') return withCapability({ ...base, type: 'directory' }, node.capability);
  const primary = primaries.get(node);
  if (primary !== undefined) return { ...base, type: 'hardlink', linkname: primary };
  primaries.set(node, path);
  if (node.type === 'symlink') return withCapability({ ...base, type: 'symlink', mode: 0o777, linkname: node.linkname }, node.capability);
  return withCapability({ ...base, type: 'file', size: node.size, source: node.source }, node.capability);
}

function withCapability<S>(entry: CanonicalEntry<S>, capability: string | undefined): CanonicalEntry<S> {
  return capability === undefined ? entry : { ...entry, capability };
}
