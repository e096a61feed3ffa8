/**
 * What a reproducer builds, in what order (issue 5): the (image, platform) pairs it chose, plus
 * every dependency they need (a dependency is built locally too: nothing is pulled), each after
 * what it needs. A pair whose platform this machine cannot build, or that needs such a pair, is
 * left to others, with the reason. Pure: the tree and its input digests in, the plan out.
 */
import { dependencyPlatform, type InputDigests } from './tree/input-digest.ts';
import type { Tree } from './tree/graph.ts';
import { buildOrder } from './tree/order.ts';

export interface StepId {
  image: string;
  platform: string;
  inputDigest: string;
}

export interface BuildStep extends StepId {
  /** Chosen by assignment (or asked for); false: built because a chosen step needs it. */
  chosen: boolean;
  /** The steps it needs, all earlier in the plan. */
  needs: StepId[];
}

export interface LeftOut extends StepId {
  chosen: boolean;
  reason: string;
}

export interface BuildPlan {
  steps: BuildStep[];
  /** Chosen (or needed) pairs this machine cannot build. */
  leftOut: LeftOut[];
}

/**
 * Plans the builds of the pairs `choose` picks among `platforms` (what this machine can build).
 * `digests` must cover the whole tree (inputDigests(tree)).
 */
export function planBuilds(tree: Tree, digests: InputDigests, platforms: readonly string[], choose: (id: StepId) => boolean): BuildPlan {
  const order = buildOrder(tree);
  const key = (image: string, platform: string) => `${image} ${platform}`;
  const idOf = (image: string, platform: string): StepId => ({ image, platform, inputDigest: digests.get(image)!.get(platform)! });
  const chosen = new Set<string>();
  for (const image of order) {
    for (const platform of tree.images.get(image)!.platforms) {
      if (platforms.includes(platform) && choose(idOf(image, platform))) chosen.add(key(image, platform));
    }
  }
  const wanted = new Set(chosen);
  const needsOf = (image: string, platform: string): StepId[] =>
    tree.images.get(image)!.dependencies.map((dep) => idOf(dep, dependencyPlatform(tree.images.get(dep)!, platform)));
  for (const image of [...order].reverse()) {
    for (const platform of tree.images.get(image)!.platforms) {
      if (wanted.has(key(image, platform))) for (const need of needsOf(image, platform)) wanted.add(key(need.image, need.platform));
    }
  }
  const steps: BuildStep[] = [];
  const leftOut: LeftOut[] = [];
  const left = new Set<string>();
  for (const image of order) {
    for (const platform of tree.images.get(image)!.platforms) {
      const k = key(image, platform);
      if (!wanted.has(k)) continue;
      const needs = needsOf(image, platform);
      const base = { ...idOf(image, platform), chosen: chosen.has(k) };
      const blocked = needs.find((n) => left.has(key(n.image, n.platform)));
      if (!platforms.includes(platform) || blocked) {
        left.add(k);
        const reason = blocked ? `needs ${blocked.image} (${blocked.platform}), which cannot be built here` : `this machine builds ${platforms.join(', ')}, not ${platform}`;
        leftOut.push({ ...base, reason });
      } else {
        steps.push({ ...base, needs });
      }
    }
  }
  return { steps, leftOut };
}
