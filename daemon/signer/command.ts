/**
 * A Signer that runs an external command (DESIGN section 4: a smart card, gpg-agent, an HSM
 * tool), so the key never enters this process. The command is run without a shell, gets the
 * DSSE PAE bytes on stdin and prints the signature on stdout: 64 raw bytes, 128 hex digits or
 * base64 (protocol/signature-bytes.ts). Like a build (rebuilderd's worker/src/proc.rs) it runs
 * under a hard timeout with capped output, and its whole process group is killed when time is up.
 * The signature is checked under the configured public key with the pinned rule before anyone
 * sees it: a command that signs with another key, or prints garbage, signs nothing.
 */
import { spawn } from 'node:child_process';
import { createVerifier } from '../../protocol/ed25519.ts';
import { describeValue, StagexError } from '../../protocol/errors.ts';
import { keyidOf, type Signer } from '../../protocol/keys.ts';
import { decodeSignature } from '../../protocol/signature-bytes.ts';
import { SignerError } from './errors.ts';

/** Default time for one signature: a card may wait for its owner's touch. */
export const DEFAULT_SIGN_TIMEOUT_MS = 60_000;
/** More stdout than this is not a signature (base64 with a newline is 89 bytes). */
export const MAX_SIGNER_STDOUT = 4096;
/** stderr kept for the error message; the rest is dropped. */
export const MAX_SIGNER_STDERR = 2048;
/** Between SIGTERM and SIGKILL to the process group when the timeout fires. */
const KILL_GRACE_MS = 2000;

export interface CommandSignerInit {
  /** argv: the program (looked up on PATH when it has no slash) and its arguments. */
  command: readonly string[];
  /** The raw 32-byte ed25519 public key the command signs with. */
  publicKey: Uint8Array;
  /** Hard limit on one signature, in ms. Default DEFAULT_SIGN_TIMEOUT_MS (60 s). */
  timeoutMs?: number;
}

/** Throws BAD_KEY (protocol) when the public key is not one the pinned rule accepts. */
export function createCommandSigner(init: CommandSignerInit): Signer {
  const verify = createVerifier(init.publicKey);
  const keyid = keyidOf(init.publicKey);
  const name = `signer command ${describeValue(init.command.join(' '))}`;
  return {
    publicKey: init.publicKey,
    keyid,
    async sign(message) {
      const output = await run(init.command, message, init.timeoutMs ?? DEFAULT_SIGN_TIMEOUT_MS, name);
      let signature: Uint8Array;
      try {
        signature = decodeSignature(output, `${name}: stdout`);
      } catch (error) {
        throw new SignerError('SIGNER_OUTPUT', (error as Error).message, { cause: error });
      }
      if (!verify(message, signature)) {
        throw new SignerError('SIGNER_BAD_SIGNATURE', `${name}: expected a signature that holds under signer.publicKey (keyid ${keyid}), got one that does not (another key, or other bytes signed)`);
      }
      return signature;
    },
  };
}

/** Runs the command once: stdin = message; resolves with its stdout when it exits 0 in time. */
function run(command: readonly string[], message: Uint8Array, timeoutMs: number, name: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true, shell: false });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let failure: StagexError | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    const stop = (error: StagexError) => {
      failure ??= error;
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop(new SignerError('SIGNER_TIMEOUT', `${name}: expected a signature within ${timeoutMs / 1000} s, got none; its process group was killed`)), timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_SIGNER_STDOUT) stop(new SignerError('SIGNER_OUTPUT', `${name}: expected at most ${MAX_SIGNER_STDOUT} bytes on stdout (one signature), got more`));
      else stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_SIGNER_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_SIGNER_STDERR - stderr.length);
    });
    // A command that exits without reading stdin closes the pipe (EPIPE): its exit status tells.
    child.stdin.on('error', () => {});
    child.stdin.end(message);

    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SignerError('SIGNER_START', `${name}: cannot start (${error.code ?? error.message}); expected an executable program (signer.command[0])`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      const said = stderr.trim() === '' ? '' : `; stderr: ${stderr.trim()}`;
      if (failure) reject(failure);
      else if (code !== 0) reject(new SignerError('SIGNER_EXIT', `${name}: expected exit status 0, got ${signal ? `signal ${signal}` : `exit status ${code}`}${said}`));
      else resolve(new Uint8Array(Buffer.concat(stdout)));
    });
  });
}
