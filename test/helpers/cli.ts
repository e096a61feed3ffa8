/** The CLI run in-process, with what it prints captured. */
import { runCli, type Io } from '../../daemon/cli.ts';

export async function sx(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => { out += t + '\n'; }, err: (t) => { err += t + '\n'; } };
  const code = await runCli(args, io);
  return { code, out, err };
}
