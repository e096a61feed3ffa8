/**
 * The status page's picture of the build graph: a small layered-DAG layout. Pure and written in
 * the subset of TypeScript whose stripped form is plain JavaScript, because the page runs this
 * very function in the browser (page.ts inlines `layoutGraph.toString()`): one layout, tested here.
 *
 * Layers are columns by dependency depth (an image sits one column right of its deepest
 * dependency); within a column, images are ordered by the mean row of what they connect to
 * (a few barycentre sweeps, which keeps most edges short); a column taller than `maxRows` is
 * wrapped into several sub-columns, so the real tree (~430 images, a hundred or more in one
 * layer) stays a wide picture of readable labels rather than a 3,000-pixel-tall one.
 */

export interface LayoutInput {
  id: string;
  /** Ids this node depends on; ids not among the nodes are ignored. */
  deps: string[];
}

export interface LayoutOptions {
  maxRows: number;
  columnWidth: number;
  rowHeight: number;
  /** Space between two layers, beyond one column width. */
  layerGap: number;
}

export interface PlacedNode {
  id: string;
  layer: number;
  x: number;
  y: number;
}

export interface Layout {
  width: number;
  height: number;
  layers: number;
  nodes: PlacedNode[];
  /**
   * Dependency -> dependant, both placed. `implied`: the dependant also needs it through another
   * of its dependencies (the edge is in the graph, not in its transitive reduction), so a picture
   * can leave it out until asked: core-filesystem alone is needed by nearly every image.
   */
  edges: { from: string; to: string; implied: boolean }[];
}

export function layoutGraph(input: LayoutInput[], options: LayoutOptions): Layout {
  const ids = new Set(input.map((n) => n.id));
  const deps = new Map(input.map((n) => [n.id, [...new Set(n.deps)].filter((d) => ids.has(d) && d !== n.id)]));
  const dependants = new Map<string, string[]>(input.map((n) => [n.id, []]));
  for (const [id, ds] of deps) for (const d of ds) dependants.get(d)!.push(id);

  // Longest path from the roots (Kahn's order); nodes left on a cycle go one past the deepest.
  const layer = new Map<string, number>();
  const waiting = new Map([...deps].map(([id, ds]) => [id, ds.length]));
  const ready = [...ids].filter((id) => waiting.get(id) === 0).sort();
  while (ready.length > 0) {
    const id = ready.shift()!;
    layer.set(id, Math.max(-1, ...deps.get(id)!.map((d) => layer.get(d)!)) + 1);
    for (const next of dependants.get(id)!) {
      waiting.set(next, waiting.get(next)! - 1);
      if (waiting.get(next) === 0) ready.push(next);
    }
  }
  const deepest = Math.max(-1, ...layer.values());
  for (const id of [...ids].sort()) if (!layer.has(id)) layer.set(id, deepest + 1);

  const count = Math.max(0, ...layer.values()) + (ids.size > 0 ? 1 : 0);
  const columns: string[][] = Array.from({ length: count }, () => []);
  for (const id of [...ids].sort()) columns[layer.get(id)!]!.push(id);

  // Barycentre sweeps: forward by dependencies, backward by dependants.
  const rank = new Map<string, number>();
  const rerank = () => {
    for (const column of columns) column.forEach((id, i) => rank.set(id, column.length > 1 ? i / (column.length - 1) : 0.5));
  };
  const sortBy = (column: string[], neighbours: (id: string) => string[]) => {
    const key = new Map(column.map((id) => {
      const near = neighbours(id).map((n) => rank.get(n)!);
      return [id, near.length > 0 ? near.reduce((a, b) => a + b, 0) / near.length : rank.get(id)!];
    }));
    column.sort((a, b) => key.get(a)! - key.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
  };
  rerank();
  for (let sweep = 0; sweep < 4; sweep += 1) {
    for (let l = 1; l < count; l += 1) {
      sortBy(columns[l]!, (id) => deps.get(id)!);
      rerank();
    }
    for (let l = count - 2; l >= 0; l -= 1) {
      sortBy(columns[l]!, (id) => dependants.get(id)!);
      rerank();
    }
  }

  // Wrap tall columns into sub-columns; rows are balanced across them.
  const nodes: PlacedNode[] = [];
  let x = 0;
  let rows = 0;
  for (const [l, column] of columns.entries()) {
    const parts = Math.max(1, Math.ceil(column.length / options.maxRows));
    const perPart = Math.ceil(column.length / parts);
    rows = Math.max(rows, Math.min(column.length, perPart));
    column.forEach((id, i) => {
      const part = Math.floor(i / perPart);
      nodes.push({ id, layer: l, x: x + part * options.columnWidth, y: (i - part * perPart) * options.rowHeight });
    });
    x += parts * options.columnWidth + options.layerGap;
  }
  // Everything each node needs, directly or not, in layer order (dependencies come first).
  const below = new Map<string, Set<string>>();
  for (const id of [...ids].sort((a, b) => layer.get(a)! - layer.get(b)!)) {
    const all = new Set<string>();
    for (const d of deps.get(id)!) {
      all.add(d);
      for (const n of below.get(d) ?? []) all.add(n);
    }
    below.set(id, all);
  }
  const edges = [...deps].flatMap(([id, ds]) => ds.map((d) => ({ from: d, to: id, implied: ds.some((other) => other !== d && below.get(other)!.has(d)) })));
  return { width: Math.max(0, x - options.layerGap), height: rows * options.rowHeight, layers: count, nodes, edges };
}
