import type { LocalOptions, NatsOptions } from '../../options.js';

/** `retry` options as commander parses them from the flags register.ts declares. */
export interface RetryOptions extends LocalOptions, NatsOptions {
  readonly host?: string;
  readonly project: string;
  readonly timeout: string;
  readonly json?: boolean;
  /** The coordinator's signing seed: agents that pin its key act only on signed requests. */
  readonly signingKey?: string;
}
