/**
 * How builds reach the store (DESIGN section 4): every finished build is signed with the node's
 * key and submitted through the same validation pipeline as anything a peer sends (into the
 * store, and gossiped when the daemon runs). Reads go through the same answers the CLI and API
 * give, so a CLI build works the same with or without a running daemon.
 */
import { identityKey } from '../../protocol/attestation.ts';
import type { Tree } from '../../protocol/tree/graph.ts';
import type { QueryAnswer, QueryParams } from '../answers.ts';
import { signAttestation } from '../attest.ts';
import type { NodeContext } from '../context.ts';
import type { Submit } from '../ingest.ts';
import type { Attestor } from './scheduler.ts';

export interface AttestorInit {
  context: NodeContext;
  tree: Tree;
  submit: Submit;
  query: (params: QueryParams) => Promise<QueryAnswer>;
  /** Machine and engine facts (machine.ts), recorded with each build. */
  machine: Readonly<Record<string, string>>;
}

export function createAttestor(init: AttestorInit): Attestor {
  const { context, tree } = init;
  return {
    async attest(record) {
      const image = tree.images.get(record.image)!;
      const bytes = signAttestation(context, {
        image: record.image,
        package: image.package,
        version: image.version ?? '',
        platform: record.platform,
        target: image.target ?? '',
        inputDigest: record.inputDigest,
        digest: record.digest,
        sources: record.sources,
        dependencies: record.dependencies,
        builderId: `stagex-node:${context.config.name}`,
        startedOn: record.startedOn,
        finishedOn: record.finishedOn,
        ...(record.engine.stagexDigest === undefined ? {} : { engineDigest: record.engine.stagexDigest }),
        machine: { ...init.machine, ...(record.engine.imageId === undefined ? {} : { engineImageId: record.engine.imageId }) },
      });
      await init.submit(bytes, `attestation of ${record.image}`);
    },

    async attested(record) {
      const answer = await init.query({ key: context.signer.keyid });
      const own = answer.kind === 'key' ? answer.votes : [];
      return own.some((v) => identityKey(v) === identityKey(record) && v.digest === record.digest);
    },

    async verdict(id) {
      const answer = await init.query({ image: id.image });
      return answer.kind === 'verdicts' ? answer.verdicts.find((v) => identityKey(v.identity) === identityKey(id)) : undefined;
    },
  };
}
