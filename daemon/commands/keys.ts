/** `stagex-node keys`: this node's signing identity. */
import type { Command } from 'commander';
import { toHex } from '../../protocol/encoding.ts';
import type { CommandEnv } from './env.ts';
import { loadContext } from '../context.ts';
import { configPath } from './args.ts';
import { table } from '../format.ts';
import { loadOrCreateIdentity } from '../net/identity.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

export function registerKeys(program: Command, env: CommandEnv): void {
  program
    .command('keys')
    .description('show this node\'s keyid and public key, and the keys it trusts')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { config, signer, policy } = await loadContext(configPath(command));
      const peerId = peerIdFromPrivateKey(await loadOrCreateIdentity(config.network.identityKey)).toString();
      const own = { name: config.name, keyid: signer.keyid, publicKey: toHex(signer.publicKey), peerId, trusted: policy.voters.has(signer.keyid) };
      if (options.json) {
        env.io.out(JSON.stringify({ own, threshold: policy.threshold, trusted: [...policy.voters].map(([keyid, name]) => ({ keyid, name })), openpgp: [...policy.openpgpVoters].map(([fingerprint, name]) => ({ fingerprint, name })) }));
        return;
      }
      env.io.out(`name       ${own.name}\nkeyid      ${own.keyid}\npublic key ${own.publicKey}\npeer id    ${own.peerId}\n${own.trusted ? '' : 'note: this key is not among the trusted keys of the config, so its attestations do not vote\n'}`);
      env.io.out(`threshold ${policy.threshold} of ${policy.signers.size} signers\n` + table(['NAME', 'KEY'], [
        ...[...policy.voters].map(([keyid, name]) => [name, keyid]),
        ...[...policy.openpgpVoters].map(([fingerprint, name]) => [name, `openpgp ${fingerprint.toUpperCase()}`]),
      ].sort(([a], [b]) => (a! < b! ? -1 : 1))));
    });
}
