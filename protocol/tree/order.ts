/**
 * Build order over the image graph (DESIGN section 1): dependencies first, ties broken bytewise
 * by name so every reproducer plans the same sequence; the closure of a requested set; cycles.
 * Pure.
 */
import { TreeError } from './errors.ts';
import type { Image, Tree } from './graph.ts';

/** Bytewise order for the ASCII names a tree allows (there UTF-16 order is byte order). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Graph = ReadonlyMap<string, Pick<Image, 'dependencies'>>;

/**
 * The requested images and everything they depend on, transitively. TreeError `unknown-image`
 * for a requested name the tree lacks, `unknown-dependency` for an edge leaving the tree.
 */
export function dependencyClosure(tree: Tree, requested: Iterable<string>): Set<string> {
  const closure = new Set<string>();
  const stack: string[] = [];
  for (const name of requested) {
    if (!tree.images.has(name)) throw new TreeError('unknown-image', '', `image ${JSON.stringify(name)}: expected an image of this tree, got none of that name`);
    stack.push(name);
  }
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (closure.has(name)) continue;
    closure.add(name);
    for (const dep of imageOf(tree, name).dependencies) {
      if (!tree.images.has(dep)) throw new TreeError('unknown-dependency', containerfileOf(tree, name), `stagex/${dep}: expected an image of this tree, got a name no package makes`);
      stack.push(dep);
    }
  }
  return closure;
}

/**
 * Every image (or the closure of `requested`) after all of its dependencies; among images ready
 * at the same time, the bytewise smallest name first. TreeError `cycle` when there is none.
 */
export function buildOrder(tree: Tree, requested?: Iterable<string>): string[] {
  const nodes = requested === undefined ? new Set(tree.images.keys()) : dependencyClosure(tree, requested);
  const waiting = new Map<string, number>();
  const dependants = new Map<string, string[]>();
  for (const name of nodes) {
    const deps = imageOf(tree, name).dependencies;
    for (const dep of deps) {
      if (!nodes.has(dep)) throw new TreeError('unknown-dependency', containerfileOf(tree, name), `stagex/${dep}: expected an image of this tree, got a name no package makes`);
      const list = dependants.get(dep);
      if (list) list.push(name);
      else dependants.set(dep, [name]);
    }
    waiting.set(name, new Set(deps).size);
  }
  const ready = [...nodes].filter((n) => waiting.get(n) === 0).sort(compare);
  const order: string[] = [];
  while (ready.length > 0) {
    const name = ready.shift()!;
    order.push(name);
    for (const next of new Set(dependants.get(name))) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) ready.splice(insertionPoint(ready, next), 0, next);
    }
  }
  if (order.length < nodes.size) {
    const rest = new Map([...nodes].filter((n) => !order.includes(n)).map((n) => [n, imageOf(tree, n)]));
    const cycle = findCycles(rest)[0]!;
    throw new TreeError('cycle', containerfileOf(tree, cycle[0]!), `dependency cycle: ${cycle.join(' -> ')}`, { cycle });
  }
  return order;
}

/**
 * One cycle per strongly connected component that has one (Tarjan), each as a path from its
 * bytewise smallest image back to it by a shortest route: [a, b, a], or [a, a] for a self-edge.
 * Edges to names outside `graph` are ignored. Sorted by first name.
 */
export function findCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (name: string): void => {
    index.set(name, index.size);
    low.set(name, index.get(name)!);
    stack.push(name);
    onStack.add(name);
    for (const dep of graph.get(name)!.dependencies) {
      if (!graph.has(dep)) continue;
      if (!index.has(dep)) {
        visit(dep);
        low.set(name, Math.min(low.get(name)!, low.get(dep)!));
      } else if (onStack.has(dep)) {
        low.set(name, Math.min(low.get(name)!, index.get(dep)!));
      }
    }
    if (low.get(name) !== index.get(name)) return;
    const component = new Set<string>();
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.add(member);
    } while (member !== name);
    const cycle = cycleIn(graph, component);
    if (cycle) cycles.push(cycle);
  };
  for (const name of [...graph.keys()].sort(compare)) if (!index.has(name)) visit(name);
  return cycles.sort((a, b) => compare(a[0]!, b[0]!));
}

/** The shortest path from the component's smallest member back to itself (breadth first). */
function cycleIn(graph: Graph, component: ReadonlySet<string>): string[] | undefined {
  const start = [...component].sort(compare)[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift()!;
    for (const dep of [...graph.get(name)!.dependencies].sort(compare)) {
      if (dep === start) {
        const path: string[] = [];
        for (let at = name; at !== start; at = parent.get(at)!) path.unshift(at);
        return [start, ...path, start];
      }
      if (component.has(dep) && !parent.has(dep)) {
        parent.set(dep, name);
        queue.push(dep);
      }
    }
  }
  return undefined;
}

function insertionPoint(sorted: readonly string[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(sorted[mid]!, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function imageOf(tree: Tree, name: string): Image {
  return tree.images.get(name)!;
}

function containerfileOf(tree: Tree, image: string): string {
  const pkg = tree.packages.get(imageOf(tree, image).package);
  return pkg ? `${pkg.dir}/Containerfile` : '';
}
