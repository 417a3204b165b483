import type { NatsOptions, WorkloadOptions } from '../../options.js';

/** `down` options as commander parses them from the flags register.ts declares. */
export interface DownOptions extends NatsOptions, WorkloadOptions {
  readonly project?: string;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly json?: boolean;
  readonly signingKey?: string;
  /** The name recorded as the author of the desired writes (default: $USER). */
  readonly as?: string;
}
