import type { LocalOptions } from '../../options.js';

/** `apply` options as commander parses them from the flags register.ts declares. */
export interface ApplyOptions extends LocalOptions {
  readonly file?: string;
  readonly nats?: string;
  readonly json?: boolean;
  readonly allowEmpty?: boolean;
  readonly pruneVolumes?: boolean;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly signingKey?: string;
}
