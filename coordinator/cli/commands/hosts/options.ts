/** `hosts` options as commander parses them from the flags register.ts declares. */
export interface HostsOptions {
  readonly nats?: string;
  readonly json?: boolean;
}
