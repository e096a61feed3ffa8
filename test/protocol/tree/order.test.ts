import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TreeError } from '../../../protocol/tree/errors.ts';
import type { Image, Tree } from '../../../protocol/tree/graph.ts';
import { buildOrder, dependencyClosure, findCycles } from '../../../protocol/tree/order.ts';

/** A hand-built tree: image name -> dependencies (packages are not needed for ordering). */
function treeOf(graph: Record<string, string[]>): Tree {
  const images = new Map<string, Image>(Object.entries(graph).map(([name, dependencies]) => [name, { name, package: name, target: 'package', version: '1', platforms: ['linux/amd64'], dependencies }]));
  return { packages: new Map(), images };
}

function assertDepsFirst(tree: Tree, order: readonly string[]): void {
  const at = new Map(order.map((name, i) => [name, i]));
  for (const name of order) for (const dep of tree.images.get(name)!.dependencies) assert.ok(at.get(dep)! < at.get(name)!, `${dep} before ${name}`);
}

describe('buildOrder', () => {
  it('puts dependencies first and breaks ties bytewise by name', () => {
    const tree = treeOf({ 'core-b': [], 'core-a': ['core-c'], 'core-c': [], 'core-B': [], 'user-z': ['core-b'] });
    assert.deepEqual(buildOrder(tree), ['core-B', 'core-b', 'core-c', 'core-a', 'user-z']);
  });
  it('orders only the closure of the requested images', () => {
    const tree = treeOf({ a: [], b: ['a'], c: ['b'], d: [] });
    assert.deepEqual(buildOrder(tree, ['c']), ['a', 'b', 'c']);
    assert.deepEqual(buildOrder(tree, ['d', 'b']), ['a', 'b', 'd']);
  });
  it('throws a cycle with its path when there is one', () => {
    assert.throws(() => buildOrder(treeOf({ a: ['b'], b: ['a'], c: [] })), (error: unknown) => error instanceof TreeError && error.problem === 'cycle' && error.code === 'BAD_TREE' && error.cycle?.join() === 'a,b,a');
  });
  it('throws unknown-dependency for an edge leaving the tree', () => {
    assert.throws(() => buildOrder(treeOf({ a: ['zz'] })), (error: unknown) => error instanceof TreeError && error.problem === 'unknown-dependency');
  });
  it('is a permutation with dependencies first, the same whatever the insertion order (random DAGs)', () => {
    const dag = fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(
      fc.constant(n),
      fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 3 }),
      fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    ));
    fc.assert(fc.property(dag, ([n, pairs, shuffle]) => {
      const name = (i: number) => `core-p${String(i).padStart(2, '0')}`;
      const graph: Record<string, string[]> = {};
      // an edge always goes from a higher index to a lower one, so the graph is acyclic
      for (const i of shuffle) graph[name(i)] = [...new Set(pairs.filter(([a, b]) => a === i && b < a).map(([, b]) => name(b)))];
      const tree = treeOf(graph);
      const order = buildOrder(tree);
      assert.equal(new Set(order).size, n);
      assertDepsFirst(tree, order);
      const sorted = treeOf(Object.fromEntries(Object.entries(graph).sort(([a], [b]) => (a < b ? -1 : 1))));
      assert.deepEqual(buildOrder(sorted), order);
    }));
  });
});

describe('dependencyClosure', () => {
  it('holds the requested images and everything below them', () => {
    const tree = treeOf({ a: [], b: ['a'], c: ['b'], d: ['a'], e: [] });
    assert.deepEqual([...dependencyClosure(tree, ['c', 'd'])].sort(), ['a', 'b', 'c', 'd']);
  });
  it('rejects a requested image the tree lacks', () => {
    assert.throws(() => dependencyClosure(treeOf({ a: [] }), ['a', 'core-nope']), (error: unknown) => error instanceof TreeError && error.problem === 'unknown-image' && error.code === 'BAD_TREE');
  });
});

describe('findCycles', () => {
  it('gives one shortest cycle per strongly connected component, from its smallest name', () => {
    const tree = treeOf({ a: ['b'], b: ['c', 'a'], c: ['a'], d: ['d'], e: ['f'], f: ['g'], g: ['e'], h: ['a'] });
    assert.deepEqual(findCycles(tree.images), [['a', 'b', 'a'], ['d', 'd'], ['e', 'f', 'g', 'e']]);
  });
  it('finds none in a DAG', () => {
    assert.deepEqual(findCycles(treeOf({ a: [], b: ['a'], c: ['a', 'b'] }).images), []);
  });
});
