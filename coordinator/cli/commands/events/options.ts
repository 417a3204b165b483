import type { LocalOptions } from '../../options.js';

/** `events` options as commander parses them from the flags register.ts declares. */
export interface EventsOptions extends LocalOptions {
  readonly nats?: string;
  readonly json?: boolean;
  readonly follow?: boolean;
  readonly type?: string;
  readonly host?: string;
  readonly project?: string;
  readonly since?: string;
}
