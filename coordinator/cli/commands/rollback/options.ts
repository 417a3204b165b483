/** `rollback` options as commander parses them from the flags register.ts declares. */
export interface RollbackOptions {
  readonly nats?: string;
  readonly rollout?: string;
  readonly host?: string;
  readonly project?: string;
  /** The revision to go back to (--to): written again as a new revision. */
  readonly to?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly signingKey?: string;
  /** The name recorded as the author of the desired writes (default: $USER). */
  readonly as?: string;
}
