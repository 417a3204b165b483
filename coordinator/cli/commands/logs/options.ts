import type { NatsOptions } from '../../options.js';

/** `logs` options as commander parses them from the flags register.ts declares. */
export interface LogsOptions extends NatsOptions {
  readonly host: string[];
  readonly project?: string;
  readonly follow?: boolean;
  readonly since?: string;
  readonly until?: string;
  readonly tail?: string;
  readonly timestamps?: boolean;
  readonly json?: boolean;
  readonly timeout: string;
}
