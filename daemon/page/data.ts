/**
 * The status page's own JSON, computed from the store and the tree: verdicts with signer names
 * (who attested what, canonical and StageX digests) and the tree's build graph with each image's
 * input digests, so the page can colour an image by the verdict on the build the tree means now.
 */
import { identityKey } from '../../protocol/attestation.ts';
import type { Verdict } from '../../protocol/threshold.ts';
import { keyName, type TrustPolicy } from '../../protocol/trust.ts';
import { inputDigests } from '../../protocol/tree/input-digest.ts';
import type { AttestationStore } from '../../store/store.ts';
import { answerVerdicts } from '../answers.ts';
import { loadTree } from '../tree.ts';

export interface PageVerdict {
  image: string;
  platform: string;
  inputDigest: string;
  status: Verdict['status'];
  digest?: string;
  count: number;
  threshold: number;
  /** Each digest voted, with its signers' names and the StageX (engine) digests they recorded. */
  digests: { digest: string; signers: string[]; stagex: { digest: string; signers: string[] }[] }[];
  equivocating: { signer: string; digests: string[] }[];
}

/**
 * The verdicts the page lists: those of the builds the tree describes now (one point read per
 * image and platform) and every identity in conflict or with an equivocating key (`notable`,
 * kept by the status board). Never a scan of the store: the page asks again after every write,
 * and a store may hold millions of envelopes (older builds are for `stagex-node query`).
 */
export async function pageVerdicts(store: AttestationStore, policy: TrustPolicy, graph: PageGraph, notable: readonly Verdict[]): Promise<{ verdicts: PageVerdict[]; problems: number }> {
  const identities = graph.nodes.flatMap((n) => Object.entries(n.inputs).map(([platform, inputDigest]) => ({ image: n.image, platform, inputDigest })));
  const { verdicts, problems } = await answerVerdicts(store, policy, identities);
  const listed = new Set(verdicts.map((v) => identityKey(v.identity)));
  for (const v of notable) if (!listed.has(identityKey(v.identity))) verdicts.push(v);
  const names = (keyids: readonly string[]) => keyids.map((k) => keyName(policy, k)).sort();
  return {
    problems: problems.length,
    verdicts: verdicts.map((v) => ({
      ...v.identity,
      status: v.status,
      ...(v.digest === undefined ? {} : { digest: v.digest }),
      count: v.count,
      threshold: v.threshold,
      digests: v.digests.map((d) => ({ digest: d.digest, signers: names(d.keyids), stagex: Object.entries(d.engineDigests).map(([digest, keyids]) => ({ digest, signers: names(keyids) })) })),
      equivocating: v.equivocating.map((e) => ({ signer: keyName(policy, e.keyid), digests: e.digests })),
    })),
  };
}

export interface GraphNode {
  image: string;
  stage: string;
  dependencies: string[];
  /** platform -> input digest of the build the tree describes now. */
  inputs: Record<string, string>;
}

export interface PageGraph {
  tree: string;
  nodes: GraphNode[];
  /** Why the tree, or some of its packages, could not be read. */
  errors: string[];
}

/** The tree at `dir` as a graph; a tree that cannot be read is an empty graph with its error. */
export async function pageGraph(dir: string): Promise<PageGraph> {
  try {
    const tree = await loadTree(dir);
    const digests = inputDigests(tree);
    const nodes = [...tree.images.values()].map((image) => ({
      image: image.name,
      stage: tree.packages.get(image.package)!.stage,
      dependencies: image.dependencies,
      inputs: Object.fromEntries(digests.get(image.name) ?? []),
    }));
    return { tree: dir, nodes, errors: tree.errors.map((e) => e.message) };
  } catch (error) {
    return { tree: dir, nodes: [], errors: [(error as Error).message] };
  }
}
