import type { NatsOptions } from '../../options.js';

/** `exec` options as commander parses them from the flags register.ts declares. */
export interface ExecOptions extends NatsOptions {
  readonly host?: string;
  readonly project?: string;
  readonly interactive?: boolean;
  readonly tty?: boolean;
  readonly as?: string;
  readonly timeout: string;
  /** The coordinator's signing seed: agents run exec only on a request signed with it. */
  readonly signingKey?: string;
}
