/** `dashboard` options as commander parses them from the flags register.ts declares. */
import type { NatsOptions } from '../../options.js';

export interface DashboardOptions extends NatsOptions {
  readonly listen: string;
  readonly tokenFile?: string;
  readonly allowActions?: boolean;
  readonly signingKey?: string;
  readonly staleAfter: string;
  readonly json?: boolean;
}
