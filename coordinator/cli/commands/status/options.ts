import type { LocalOptions, WorkloadOptions } from '../../options.js';

/** `status` options as commander parses them from the flags register.ts declares. */
export interface StatusOptions extends LocalOptions, WorkloadOptions {
  readonly nats?: string;
  readonly host?: string;
  readonly watch?: boolean;
  readonly json?: boolean;
}
