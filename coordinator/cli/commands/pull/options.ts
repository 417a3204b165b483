import type { NatsOptions, WorkloadOptions } from '../../options.js';

/** `pull` options as commander parses them from the flags register.ts declares. */
export interface PullOptions extends WorkloadOptions, NatsOptions {
  readonly host?: readonly string[];
  readonly timeout: string;
  readonly json?: boolean;
  /** The coordinator's signing seed: agents that pin its key act only on signed requests. */
  readonly signingKey?: string;
}
