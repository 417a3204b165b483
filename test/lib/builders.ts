import { randomBytes } from 'node:crypto';
import { serviceSpecSchema, type ServiceSpec } from '../../shared/fleet-spec.js';
import { hostDesiredSchema, type HostDesired } from '../../shared/host-desired.js';

export const TEST_IMAGE = 'hw/busybox:test';

/** A service spec with defaults applied, as a parsed fleet file would give it. */
export function service(fields: Partial<Record<keyof ServiceSpec, unknown>> = {}): ServiceSpec {
  return serviceSpecSchema.parse({ image: TEST_IMAGE, command: QUICK_STOP_COMMAND, stop_timeout: '1s', ...fields });
}

export function desired(project: string, services: Record<string, ServiceSpec>, fields: Partial<HostDesired> = {}): HostDesired {
  return hostDesiredSchema.parse({ hostId: 'h1', project, revision: 1, services, ...fields });
}

/** Project names unique per run: the engine outlives test runs and may hold old containers. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A command that stops at once on SIGTERM (a bare `sleep` as PID 1 ignores it until the stop timeout). */
export const QUICK_STOP_COMMAND = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
