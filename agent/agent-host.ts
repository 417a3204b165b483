import type { Logger } from 'pino';
import type { HostPolicy } from './core/host-policy.js';
import { Reconciler } from './reconciler.js';
import { DockerRuntime } from './runtime/docker-runtime.js';
import type { RegistryAuthSource } from './runtime/registry-credentials.js';
import type { RuntimeAdapter } from './runtime/runtime-adapter.js';
import type { SecretFileStore } from './runtime/secret-files.js';
import { Journal } from './store/journal.js';

// One host as Hostwright drives it: its journal, its runtime and the reconciler between them.

export interface AgentHostOptions {
  readonly hostId: string;
  /** Prepended to container names; lets several agents share one engine. */
  readonly namePrefix?: string;
  readonly parallelism?: number;
  readonly logger: Logger;
  /** The local Docker engine when omitted (benchmarks inject a simulated one). */
  readonly runtime?: RuntimeAdapter;
  readonly onCyclesInFlight?: (inFlight: number) => void;
  /** What desired state may ask of this host beyond an ordinary container; strict when omitted. */
  readonly policy?: HostPolicy;
  /** Registry credentials for pulls (`--registry-auth FILE`); pulls send none when omitted. */
  readonly registryAuth?: RegistryAuthSource | undefined;
  /** Image cleanup's grace period (`--image-grace`); 1 h when omitted. */
  readonly imageGraceMs?: number;
  /** Opens and writes secret files (`--curve-key`, `--secrets-dir`); containers with secrets are refused when omitted. */
  readonly secretFiles?: SecretFileStore | undefined;
}

export interface AgentHost {
  readonly hostId: string;
  readonly journal: Journal;
  readonly runtime: RuntimeAdapter;
  readonly reconciler: Reconciler;
  close(): Promise<void>;
}

/** The host over a journal already open (a daemon opens it when the disk lets it); closing closes the journal. */
export function agentHostOn(journal: Journal, options: AgentHostOptions): AgentHost {
  const runtime = options.runtime ?? new DockerRuntime({ registryAuth: options.registryAuth, secretFiles: options.secretFiles });
  const reconciler = new Reconciler({
    runtime,
    journal,
    hostId: options.hostId,
    logger: options.logger.child({ component: 'reconciler', hostId: options.hostId }),
    ...(options.namePrefix === undefined ? {} : { namePrefix: options.namePrefix }),
    ...(options.parallelism === undefined ? {} : { parallelism: options.parallelism }),
    ...(options.onCyclesInFlight === undefined ? {} : { onCyclesInFlight: options.onCyclesInFlight }),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.imageGraceMs === undefined ? {} : { imageGraceMs: options.imageGraceMs }),
  });
  return { hostId: options.hostId, journal, runtime, reconciler, close: () => journal.close() };
}

/** Opens the data dir's journal (failing at once if it cannot) and the host over it; the caller closes it. */
export async function openAgentHost(dataDir: string, options: AgentHostOptions): Promise<AgentHost> {
  return agentHostOn(await Journal.open(dataDir), options);
}
