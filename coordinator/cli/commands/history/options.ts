import type { NatsOptions } from '../../options.js';

/** `history` options as commander parses them from the flags register.ts declares. */
export interface HistoryOptions extends NatsOptions {
  readonly project?: string;
  readonly host?: string;
  readonly json?: boolean;
}
