import type { WorkloadOptions } from '../../options.js';

/** `convert` options as commander parses them from the flags register.ts declares. */
export interface ConvertOptions extends WorkloadOptions {
  readonly json?: boolean;
}
