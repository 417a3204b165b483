import type { LocalOptions } from '../../options.js';

/** `status` options as commander parses them from the flags register.ts declares. */
export interface StatusOptions extends LocalOptions {
  readonly file?: string;
  readonly nats?: string;
  readonly host?: string;
  readonly watch?: boolean;
  readonly json?: boolean;
}
