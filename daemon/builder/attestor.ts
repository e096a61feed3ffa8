/**
 * How builds reach the store (DESIGN section 4): every finished build is signed with the node's
 * key and submitted through the same validation pipeline as anything a peer sends (into the
 * store, and gossiped when the daemon runs). On a node whose key is offline the statement waits
 * instead (daemon/signer/waiting.ts) for `stagex-node statements export`. Reads go through the
 * same answers the CLI and API give, so a CLI build works the same with or without a running daemon.
 */
import { identityKey } from '../../protocol/attestation.ts';
import type { Tree } from '../../protocol/tree/graph.ts';
import type { QueryAnswer, QueryParams } from '../answers.ts';
import { signAttestation, statementPayload } from '../attest.ts';
import type { NodeContext } from '../context.ts';
import type { Submit } from '../ingest.ts';
import { parkStatement, type WaitingStatement } from '../signer/waiting.ts';
import type { Attestor } from './scheduler.ts';

export interface AttestorInit {
  context: NodeContext;
  tree: Tree;
  submit: Submit;
  query: (params: QueryParams) => Promise<QueryAnswer>;
  /** Machine and engine facts (machine.ts), recorded with each build. */
  machine: Readonly<Record<string, string>>;
}

export interface NodeAttestor extends Attestor {
  /** Statements of this run's builds that wait for an offline signature, by input digest. */
  readonly unsigned: ReadonlyMap<string, WaitingStatement>;
}

export function createAttestor(init: AttestorInit): NodeAttestor {
  const { context, tree } = init;
  const unsigned = new Map<string, WaitingStatement>();
  return {
    unsigned,
    async attest(record) {
      const image = tree.images.get(record.image)!;
      const payload = statementPayload({
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
      if ('offline' in context.signer) unsigned.set(record.inputDigest, await parkStatement(context.config.builder.outputs, record, payload));
      else await init.submit(await signAttestation(context.signer, payload), `attestation of ${record.image}`);
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
