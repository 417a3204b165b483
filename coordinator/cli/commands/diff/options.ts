import type { NatsOptions, WorkloadOptions } from '../../options.js';

/** `diff` options as commander parses them from the flags register.ts declares. */
export interface DiffOptions extends NatsOptions, WorkloadOptions {
  readonly project?: string;
  readonly host?: string;
  readonly json?: boolean;
}
