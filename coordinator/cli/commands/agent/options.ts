import type { LocalOptions, WorkloadOptions } from '../../options.js';

/** The host policy's escape hatches, as the agent and `agent install` take them (agent/core/host-policy.ts). */
export interface HostPolicyFlags {
  readonly allowPrivileged?: boolean;
  readonly allowDevices?: boolean;
  readonly allowCap: string[];
  readonly allowHostPath: string[];
  readonly allowHostNetwork?: boolean;
  readonly allowSecurityOpt?: string[];
  readonly allowSysctl?: string[];
  readonly allowVolumeDriver?: string[];
  readonly allowVolumeType?: string[];
  readonly allowLogDriver?: string[];
  readonly allowSecretFile?: string[];
  readonly allowNetworkOpt?: string[];
  /** `--allow-exec` / policy.allow_exec: answer signed `hostwright exec` requests. */
  readonly allowExec?: boolean;
}

/** `agent` options as commander parses them from the flags register.ts declares. */
export interface AgentOptions extends LocalOptions, WorkloadOptions, HostPolicyFlags {
  readonly config?: string;
  readonly creds?: string;
  readonly curveKey?: string;
  readonly secretsDir?: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly nats?: string;
  readonly resync: string;
  readonly heartbeat: string;
  readonly logLevel: string;
  readonly namePrefix?: string;
  readonly metricsAddr?: string;
  readonly coordinatorKey?: string;
  readonly allowUnsigned?: boolean;
  readonly meshEndpoint?: string;
  readonly meshInterface?: string;
}
