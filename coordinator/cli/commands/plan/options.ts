import type { LocalOptions, WorkloadOptions } from '../../options.js';

/** `plan` options as commander parses them from the flags register.ts declares. */
export interface PlanOptions extends LocalOptions, WorkloadOptions {
  readonly nats?: string;
  readonly json?: boolean;
  readonly detailedExitcode?: boolean;
  readonly allowEmpty?: boolean;
  readonly pruneVolumes?: boolean;
  readonly out?: string;
  readonly timeout: string;
  readonly allowUnregistered?: readonly string[];
}
