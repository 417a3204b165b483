/** `rollout` options as commander parses them from the flags register.ts declares. */
import type { WorkloadOptions } from '../../options.js';

export interface RolloutCommandOptions extends WorkloadOptions {
  readonly nats?: string;
  readonly canary?: string;
  readonly maxParallel?: string;
  readonly minHealthy?: string;
  readonly healthyDeadline?: string;
  readonly maxFailures?: string;
  readonly onFailure?: string;
  readonly order?: string;
  readonly skipOffline?: boolean;
  readonly json?: boolean;
  readonly detach?: boolean;
  readonly prePull?: boolean;
  readonly prePullTimeout?: string;
  readonly signingKey?: string;
  /** The name recorded as the author of the desired writes (default: $USER). */
  readonly as?: string;
  readonly allowUnregistered?: readonly string[];
}

export type RolloutChange = 'pause' | 'resume' | 'abort';
