import type Docker from 'dockerode';
import { compareStrings } from '../../shared/compare.js';
import { parseDurationMs } from '../../shared/duration.js';
import { parsePortMapping } from '../../shared/fleet-spec.js';
import type { ContainerConfigView, ContainerState, Health } from '../core/snapshot.js';
import type { ContainerCreateRequest } from './runtime-adapter.js';

// Docker's shape stays in this file: Hostwright's RuntimeConfig in, Docker's create options out, and back.

const NS_PER_MS = 1_000_000;

export function toDockerCreateOptions(request: ContainerCreateRequest): Docker.ContainerCreateOptions {
  const { config } = request;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  for (const text of config.ports) {
    const port = parsePortMapping(text);
    const key = `${port.containerPort}/${port.protocol}`;
    exposed[key] = {};
    if (port.hostPort !== undefined || port.hostIp !== undefined) {
      (bindings[key] ??= []).push({ HostIp: port.hostIp ?? '', HostPort: port.hostPort === undefined ? '' : String(port.hostPort) });
    }
  }
  const options: Docker.ContainerCreateOptions = {
    name: request.name,
    Image: config.image,
    Env: Object.entries(request.env).map(([name, value]) => `${name}=${value}`),
    Labels: { ...config.labels, ...request.identityLabels },
    ExposedPorts: exposed,
    StopTimeout: Math.ceil(parseDurationMs(config.stop_timeout) / 1000),
    HostConfig: {
      PortBindings: bindings,
      Binds: [...config.volumes],
      RestartPolicy: { Name: config.restart === 'no' ? '' : config.restart },
    },
  };
  if (config.command) options.Cmd = [...config.command];
  if (config.healthcheck) {
    const check = config.healthcheck;
    options.Healthcheck = {
      Test: [...check.test],
      ...(check.interval ? { Interval: parseDurationMs(check.interval) * NS_PER_MS } : {}),
      ...(check.timeout ? { Timeout: parseDurationMs(check.timeout) * NS_PER_MS } : {}),
      ...(check.retries !== undefined ? { Retries: check.retries } : {}),
      ...(check.start_period ? { StartPeriod: parseDurationMs(check.start_period) * NS_PER_MS } : {}),
    };
  }
  return options;
}

/** The comparable part of an inspect: sorted, so two reads of an unchanged container are equal. */
export function configViewOf(inspect: Docker.ContainerInspectInfo): ContainerConfigView {
  const bindings = inspect.HostConfig.PortBindings as Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined;
  const ports = Object.entries(bindings ?? {}).flatMap(([port, hosts]) => (hosts ?? []).map((host) => `${host.HostIp ?? ''}:${host.HostPort ?? ''}->${port}`));
  const health = inspect.Config.Healthcheck;
  const restart = inspect.HostConfig.RestartPolicy;
  return {
    name: inspect.Name.replace(/^\//, ''),
    image: inspect.Config.Image,
    command: [...(inspect.Config.Cmd ?? [])],
    env: [...(inspect.Config.Env ?? [])].sort(),
    labels: sortedRecord(inspect.Config.Labels ?? {}),
    ports: ports.sort(),
    mounts: [...(inspect.HostConfig.Binds ?? [])].sort(),
    restart: `${restart?.Name ?? ''}:${restart?.MaximumRetryCount ?? 0}`,
    healthcheck: health?.Test ? [...health.Test, `interval=${health.Interval ?? 0}`, `timeout=${health.Timeout ?? 0}`, `retries=${health.Retries ?? 0}`] : [],
  };
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)));
}

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export function containerStateOf(state: string): ContainerState {
  return (STATES as readonly string[]).includes(state) ? (state as ContainerState) : 'dead';
}

/** The list endpoint reports health only inside its Status text: "Up 5 seconds (healthy)". */
export function healthFromStatusText(status: string): Health {
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

