/** `mesh` options as commander parses them from the flags register.ts declares. */
export interface MeshOptions {
  readonly nats?: string;
  readonly json?: boolean;
}

/** `mesh apply` options. */
export interface MeshApplyOptions extends MeshOptions {
  readonly fleetRange?: string;
  readonly blockPrefix?: string;
  readonly port?: string;
  readonly transport?: string;
  readonly dryRun?: boolean;
  readonly signingKey?: string;
}
