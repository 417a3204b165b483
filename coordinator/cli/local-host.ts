import { homedir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Reconciler } from '../../agent/reconciler.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { Journal } from '../../agent/store/journal.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import { hostIdSchema } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { desiredContentHash, desiredForHost } from '../placement.js';

/** Options every local-mode command takes. */
export interface LocalOptions {
  readonly local?: boolean;
  readonly dataDir?: string;
  readonly hostId?: string;
  readonly label?: readonly string[];
  readonly parallel?: string;
}

export function defaultDataDir(): string {
  return process.env.HOSTWRIGHT_DATA_DIR ?? join(homedir(), '.hostwright', 'local');
}

export function parseLabels(pairs: readonly string[] = []): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InvalidInputError(`--label ${pair}: expected key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

export function parseParallel(text: string | undefined): number {
  if (text === undefined) return 4;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 64) throw new InvalidInputError(`--parallel ${text}: expected a whole number from 1 to 64`);
  return value;
}

export interface LocalHost {
  readonly hostId: string;
  readonly journal: Journal;
  readonly reconciler: Reconciler;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** Opens the local data dir and Docker engine; the caller closes it. */
export async function openLocalHost(options: LocalOptions, logger: Logger = pino({ level: process.env.HOSTWRIGHT_LOG ?? 'warn' }, pino.destination(2))): Promise<LocalHost> {
  const hostId = options.hostId ?? 'local';
  const parsedHost = hostIdSchema.safeParse(hostId);
  if (!parsedHost.success) throw new InvalidInputError(`--host-id ${hostId}: ${parsedHost.error.issues[0]?.message ?? 'invalid'}`);
  const journal = await Journal.open(options.dataDir ?? defaultDataDir());
  const runtime = new DockerRuntime();
  const reconciler = new Reconciler({ runtime, journal, hostId, logger: logger.child({ component: 'reconciler', hostId }), parallelism: parseParallel(options.parallel) });
  return { hostId, journal, reconciler, logger, close: () => journal.close() };
}

/**
 * The desired document a fleet file gives this host: the stored revision when the content is
 * unchanged, the next revision otherwise. Without --host-id, local mode ignores placement.
 */
export async function desiredFromFleet(host: LocalHost, fleet: FleetFile, options: LocalOptions & { allowEmpty?: boolean; correlationID?: string }): Promise<{ document: HostDesired; changed: boolean; previous: HostDesired | undefined }> {
  const previous = (await host.journal.desiredDocuments()).find((document) => document.project === fleet.project);
  const draft = desiredForHost(fleet, { hostId: host.hostId, labels: parseLabels(options.label) }, {
    revision: 1,
    allowEmpty: options.allowEmpty ?? false,
    ignorePlacement: options.hostId === undefined,
    ...(options.correlationID === undefined ? {} : { correlationID: options.correlationID }),
  });
  if (previous && desiredContentHash(previous) === desiredContentHash(draft)) return { document: { ...previous, correlationID: draft.correlationID }, changed: false, previous };
  return { document: { ...draft, revision: (previous?.revision ?? 0) + 1 }, changed: true, previous };
}
