import type { LocalOptions } from '../../options.js';

/** `plan` options as commander parses them from the flags register.ts declares. */
export interface PlanOptions extends LocalOptions {
  readonly file: string;
  readonly nats?: string;
  readonly json?: boolean;
  readonly detailedExitcode?: boolean;
  readonly allowEmpty?: boolean;
  readonly pruneVolumes?: boolean;
  readonly out?: string;
  readonly timeout: string;
}
