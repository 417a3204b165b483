/** `hosts` options as commander parses them from the flags register.ts declares. */
export interface HostsOptions {
  readonly nats?: string;
  readonly json?: boolean;
}

/** `hosts cordon|uncordon|label` options. */
export interface HostControlOptions {
  readonly nats?: string;
  readonly json?: boolean;
  readonly signingKey?: string;
}

/** `hosts drain` options. */
export interface HostDrainOptions extends HostControlOptions {
  readonly deadline: string;
  readonly dryRun?: boolean;
  readonly detach?: boolean;
  readonly force?: boolean;
}
