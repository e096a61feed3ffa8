/**
 * `stagex-node doctor`: is this machine and this config ready to run a reproducer? Each check
 * prints OK, WARN or FAIL and, unless OK, a one-line fix. Exit 0 when nothing FAILs, 1 when
 * something does. Decisions in daemon/doctor/checks.ts, probes in daemon/doctor/probe.ts.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { bootstrapCheck, clockCheck, configCheck, dataDirsCheck, engineCheck, exitCodeOf, keyFilesCheck, platformCheck, portsCheck, type Check } from '../doctor/checks.ts';
import { buildsSomething, probeBootstrap, probeDataDirs, probeEngine, probeKeyFiles, probeNewestSigned, probePlatforms, probePorts } from '../doctor/probe.ts';
import { table } from '../format.ts';
import { configPath } from './args.ts';
import type { CommandEnv } from './env.ts';

/** Every check: those needing the config only when it loads (the config check FAILs otherwise). */
export async function runDoctor(file: string, now: () => Date = () => new Date()): Promise<Check[]> {
  let config: Config | undefined;
  let loaded: Check;
  try {
    config = await loadConfig(file);
    loaded = configCheck({ file: config.file });
  } catch (error) {
    loaded = configCheck({ code: (error as { code?: string }).code ?? 'BAD_CONFIG', error: (error as Error).message });
  }
  const { runnable, host } = probePlatforms();
  if (config === undefined) return [loaded, platformCheck(runnable, host, undefined), clockCheck(now(), { unread: 'no config' })];
  const builds = buildsSomething(config);
  const [ports, keys, dirs, signed, peers] = await Promise.all([probePorts(config), probeKeyFiles(config), probeDataDirs(config, builds), probeNewestSigned(config), probeBootstrap(config)]);
  // After the timed probes: the engine check waits on `docker buildx version` synchronously.
  const engine = await probeEngine(config);
  return [
    loaded,
    engineCheck(engine, builds),
    platformCheck(runnable, host, config.builder.platforms),
    portsCheck(ports.ports, ports.ownDaemonRunning),
    keyFilesCheck(keys, process.getuid!()),
    dataDirsCheck(dirs, builds),
    clockCheck(now(), signed),
    bootstrapCheck(peers),
  ];
}

export function registerDoctor(program: Command, env: CommandEnv): void {
  program
    .command('doctor')
    .description('check the engine, linux/386, ports, key files, data directories, clock and bootstrap peers; exit 1 when a check FAILs')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const checks = await runDoctor(configPath(command));
      const code = exitCodeOf(checks);
      if (options.json) env.io.out(JSON.stringify({ ok: code === 0, checks }));
      else {
        const rows = checks.flatMap((c) => [[c.status.toUpperCase(), c.id, c.summary], ...(c.fix ? [['', '', `fix: ${c.fix}`]] : [])]);
        env.io.out(table(['STATUS', 'CHECK', 'FOUND'], rows));
      }
      env.setExit(code);
    });
}
