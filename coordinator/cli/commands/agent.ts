import type { Command } from 'commander';
import { pino } from 'pino';
import { parseDurationMs } from '../../../shared/duration.js';
import { InvalidInputError } from '../../../shared/errors.js';
import { runLocalAgent } from '../../local-agent.js';
import { defaultDataDir, openLocalHost, requireLocal, type LocalOptions } from '../local-host.js';
import { withLocalOptions } from '../options.js';

interface AgentOptions extends LocalOptions {
  readonly file: string;
  readonly resync: string;
  readonly logLevel: string;
}

export function registerAgent(program: Command): void {
  withLocalOptions(program.command('agent'))
    .description('run the reconcile loop as a daemon: on Docker events, fleet file changes and a periodic resync')
    .requiredOption('-f, --file <fleet.yaml>', 'the fleet file (re-read when it changes; a bad edit keeps the last good state)')
    .option('--resync <duration>', 'periodic resync interval', '30s')
    .option('--parallel <n>', 'instances changed at once (default 4)')
    .option('--log-level <level>', 'pino log level (trace, debug, info, warn, error)', 'info')
    .action(async (options: AgentOptions) => {
      requireLocal(options, 'agent');
      let resyncMs: number;
      try {
        resyncMs = parseDurationMs(options.resync);
      } catch {
        throw new InvalidInputError(`--resync ${options.resync}: expected a duration such as 30s`);
      }
      const logger = pino({ level: options.logLevel, base: { component: 'agent' } });
      const dataDir = options.dataDir ?? defaultDataDir();
      const host = await openLocalHost({ ...options, dataDir }, logger);
      const abort = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
      try {
        await runLocalAgent(host, { ...options, dataDir, resyncMs, logger, signal: abort.signal });
      } finally {
        await host.close();
      }
      logger.info('stopped');
    });
}
