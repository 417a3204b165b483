import type { NatsOptions, WorkloadOptions } from '../../options.js';

/** `restart` options as commander parses them from the flags register.ts declares. */
export interface RestartOptions extends NatsOptions, WorkloadOptions {
  readonly project?: string;
  readonly host?: string;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly json?: boolean;
  readonly signingKey?: string;
}
