#!/usr/bin/env node
/** Entry point of the `stagex-node` command (Node 24: TypeScript runs by type stripping). */
import { runCli } from '../cli.ts';

process.exitCode = await runCli(process.argv.slice(2));
