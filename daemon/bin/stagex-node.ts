#!/usr/bin/env node
/**
 * Entry point of the `stagex-node` command (Node 24: TypeScript runs by type stripping). The
 * compile cache keeps the stripped and compiled modules between runs (in the OS temp directory),
 * which saves a quarter of a second per command; it is enabled before the CLI is imported.
 * `start` re-executes itself first with the daemon's memory settings (daemon/runtime-tuning.ts).
 */
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { commandWord, runCli } = await import('../cli.ts');
if (commandWord(process.argv.slice(2)) === 'start') (await import('../runtime-tuning.ts')).withDaemonRuntime();
process.exitCode = await runCli(process.argv.slice(2));
