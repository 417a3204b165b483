import type { NatsOptions, WorkloadOptions } from '../../options.js';

/** `ps` options as commander parses them from the flags register.ts declares. */
export interface PsOptions extends NatsOptions, WorkloadOptions {
  readonly project?: string;
  readonly host?: string;
  readonly json?: boolean;
}
