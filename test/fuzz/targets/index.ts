/** Every decoder target, for the large run (bench/fuzz.ts). */
import type { FuzzTarget } from '../harness.ts';
import { apiRequestTarget } from './api-request.ts';
import { configTarget } from './config.ts';
import { containerfileTarget } from './containerfile.ts';
import { envelopeFileTarget, gossipMessageTarget } from './envelope.ts';
import { offlineSignatureTarget, statementsIndexTarget } from './offline-statements.ts';
import { packageTomlTarget } from './package-toml.ts';
import { stagexSignatureTarget } from './stagex-signature.ts';
import { syncFrameTarget } from './sync-frame.ts';

export const TARGETS: readonly FuzzTarget<any>[] = [gossipMessageTarget, envelopeFileTarget, syncFrameTarget, containerfileTarget, packageTomlTarget, configTarget, apiRequestTarget, stagexSignatureTarget, offlineSignatureTarget, statementsIndexTarget];
