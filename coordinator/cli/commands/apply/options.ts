import type { LocalOptions, WorkloadOptions } from '../../options.js';

/** `apply` options as commander parses them from the flags register.ts declares. */
export interface ApplyOptions extends LocalOptions, WorkloadOptions {
  readonly nats?: string;
  readonly json?: boolean;
  readonly allowEmpty?: boolean;
  readonly pruneVolumes?: boolean;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly signingKey?: string;
  /** The name recorded as the author of the desired writes (default: $USER). */
  readonly as?: string;
  readonly allowUnregistered?: readonly string[];
}
