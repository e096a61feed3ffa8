/** `stagex-node attest`: sign a statement by hand (the manual path, without the daemon). */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandEnv } from './env.ts';
import { signAttestation, statementPayload } from '../attest.ts';
import { onlineSigner } from '../signer/load.ts';
import { storeSubmit } from '../ingest.ts';
import { daemonRunning, daemonSubmit, localApi } from '../client.ts';
import { loadContext, withStore } from '../context.ts';
import { DaemonError } from '../errors.ts';
import { collect, configPath, digestArg, imageArg, platformArg } from './args.ts';

interface AttestOptions {
  image: string;
  inputDigest: string;
  digest: string;
  engineDigest?: string;
  platform: string;
  version: string;
  target: string;
  package?: string;
  source?: string[];
  dep?: string[];
  out?: string;
  json?: boolean;
}

/** `name=hex` pairs of --source and --dep. */
function pairs(values: readonly string[] | undefined, option: string): [string, string][] {
  return (values ?? []).map((value) => {
    const at = value.lastIndexOf('=');
    if (at <= 0) throw new DaemonError('USAGE', `${option}: expected <name>=<sha256 hex>, got ${JSON.stringify(value)}`);
    return [value.slice(0, at), digestArg(value.slice(at + 1), option)];
  });
}

export function registerAttest(program: Command, env: CommandEnv): void {
  program
    .command('attest')
    .description('sign and store an attestation that an image built from an input digest has an output digest')
    .requiredOption('--image <stage-name>', 'image name, e.g. core-gcc')
    .requiredOption('--input-digest <hex>', 'input digest of the build (DESIGN section 2)')
    .requiredOption('--digest <hex>', 'canonical output digest (DESIGN section 3)')
    .option('--engine-digest <hex>', 'the engine\'s own OCI manifest digest')
    .option('--platform <os/arch>', 'platform', 'linux/amd64')
    .option('--version <version>', 'package version', '')
    .option('--target <target>', 'Containerfile target', 'package')
    .option('--package <stage-name>', 'package the image comes from (default: the image)')
    .option('--source <uri=sha256>', 'a source the build used (repeatable)', collect)
    .option('--dep <image=digest>', 'a dependency image and its digest (repeatable)', collect)
    .option('--out <file>', 'also write the envelope to this file')
    .option('--json', 'print JSON')
    .action(async (options: AttestOptions, command: Command) => {
      const image = imageArg(options.image, '--image');
      const facts = {
        image,
        package: options.package ? imageArg(options.package, '--package') : image,
        version: options.version,
        platform: platformArg(options.platform, '--platform'),
        target: options.target,
        inputDigest: digestArg(options.inputDigest, '--input-digest'),
        digest: digestArg(options.digest, '--digest'),
        ...(options.engineDigest ? { engineDigest: digestArg(options.engineDigest, '--engine-digest') } : {}),
        sources: pairs(options.source, '--source').map(([uri, sha256]) => ({ uri, sha256 })),
        dependencies: pairs(options.dep, '--dep').map(([dep, digest]) => ({ image: imageArg(dep, '--dep'), digest })),
        startedOn: new Date().toISOString(),
        finishedOn: new Date().toISOString(),
      };
      const context = await loadContext(configPath(command));
      const bytes = await signAttestation(onlineSigner(context.signer, 'attest'), statementPayload({ ...facts, builderId: `stagex-node:${context.config.name}` }));
      const api = await localApi(context.config);
      const { hash } = await daemonRunning(api)
        ? await daemonSubmit(api)(bytes, 'attestation')
        : await withStore(context, (store) => storeSubmit(store, context.policy)(bytes, 'attestation'));
      if (options.out) await writeFile(options.out, bytes);
      env.io.out(options.json ? JSON.stringify({ hash, file: options.out }) : `attested ${image} ${facts.digest}\nenvelope ${hash}${options.out ? ` -> ${options.out}` : ''}`);
    });
}
