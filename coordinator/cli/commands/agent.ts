import type { Command } from 'commander';
import { pino } from 'pino';
import type { DesiredTrust } from '../../../agent/fleet/desired-watcher.js';
import { runFleetAgent } from '../../../agent/fleet/fleet-agent.js';
import { InvalidInputError } from '../../../shared/errors.js';
import { hostIdSchema } from '../../../shared/fleet-spec.js';
import { runLocalAgent } from '../../local-agent.js';
import { resolveCoordinatorKey } from '../../signing-key.js';
import { defaultDataDir, openLocalHost, parseLabels, parseParallel, type LocalOptions } from '../local-host.js';
import { modeOf, withLocalOptions } from '../options.js';
import { parseTimeout } from '../parse.js';

interface AgentOptions extends LocalOptions {
  readonly file?: string;
  readonly nats?: string;
  readonly resync: string;
  readonly heartbeat: string;
  readonly logLevel: string;
  readonly namePrefix?: string;
  readonly metricsAddr?: string;
  readonly coordinatorKey?: string;
  readonly allowUnsigned?: boolean;
}

export function registerAgent(program: Command): void {
  withLocalOptions(program.command('agent'))
    .description('run a host agent: the reconcile loop as a daemon (fleet mode: desired state from NATS; local mode: from a fleet file)')
    .option('-f, --file <fleet.yaml>', 'local mode: the fleet file (re-read when it changes; a bad edit keeps the last good state)')
    .option('--resync <duration>', 'periodic resync interval', '30s')
    .option('--heartbeat <duration>', 'fleet mode: heartbeat interval', '5s')
    .option('--parallel <n>', 'instances changed at once (default 4)')
    .option('--name-prefix <prefix>', 'prefix for container names, so several agents can share one engine (e.g. "h1-")', '')
    .option('--metrics-addr <host:port>', 'serve Prometheus /metrics and /healthz here, e.g. 127.0.0.1:9464')
    .option('--coordinator-key <key|file>', 'fleet mode: the coordinator\'s public signing key (O…), or a file holding it; desired state not signed by it is refused (default: $HOSTWRIGHT_COORDINATOR_KEY)')
    .option('--allow-unsigned', 'fleet mode, INSECURE: accept desired state without a pinned coordinator key (anyone who can write to NATS controls this host)')
    .option('--log-level <level>', 'pino log level (trace, debug, info, warn, error)', 'info')
    .action(async (options: AgentOptions) => {
      const mode = modeOf(options, 'agent');
      const resyncMs = parseTimeout(options.resync, '--resync');
      const logger = pino({ level: options.logLevel, base: { component: 'agent' } });
      const abort = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
      const dataDir = options.dataDir ?? defaultDataDir();

      if (mode.kind === 'fleet') {
        if (!options.hostId) throw new InvalidInputError('agent: fleet mode needs --host-id (this host\'s id in the fleet)');
        const hostId = hostIdSchema.safeParse(options.hostId);
        if (!hostId.success) throw new InvalidInputError(`--host-id ${options.hostId}: ${hostId.error.issues[0]?.message ?? 'invalid'}`);
        const coordinatorKey = options.coordinatorKey ?? process.env.HOSTWRIGHT_COORDINATOR_KEY;
        if (!coordinatorKey && !options.allowUnsigned) {
          throw new InvalidInputError('agent: fleet mode needs --coordinator-key (the coordinator\'s public signing key, or the coordinator-signing.pub file; or set HOSTWRIGHT_COORDINATOR_KEY) so that only signed desired state is accepted; `hostwright keys generate --out DIR` makes a key pair. To run without one, pass --allow-unsigned (insecure).');
        }
        const trust: DesiredTrust = coordinatorKey ? { kind: 'pinned', coordinatorKey: await resolveCoordinatorKey(coordinatorKey) } : { kind: 'unsigned-allowed' };
        await runFleetAgent({
          hostId: hostId.data,
          labels: parseLabels(options.label),
          natsUrl: mode.natsUrl,
          trust,
          natsAccess: mode.access,
          dataDir,
          namePrefix: options.namePrefix ?? '',
          parallelism: parseParallel(options.parallel),
          resyncMs,
          heartbeatMs: parseTimeout(options.heartbeat, '--heartbeat'),
          metricsAddr: options.metricsAddr,
          logger: logger.child({ hostId: hostId.data }),
          signal: abort.signal,
        });
        return;
      }
      if (!options.file) throw new InvalidInputError('agent: local mode needs -f fleet.yaml');
      const host = await openLocalHost({ ...options, dataDir }, logger);
      try {
        await runLocalAgent(host, { ...options, file: options.file, dataDir, resyncMs, logger, signal: abort.signal });
      } finally {
        await host.close();
      }
      logger.info('stopped');
    });
}
