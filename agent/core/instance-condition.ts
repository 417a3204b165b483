// Crash loops and failed one-shots: derived from what the observations show, with a small memory
// per container (its restart counts over a window, its last exit) that the agent keeps in memory.
import type { HostDesired } from '../../shared/host-desired.js';
import type { InstanceCondition } from '../../shared/instance-condition.js';
import type { ServiceSpec } from '../../shared/fleet-spec.js';
import type { ObservedContainer, RuntimeSnapshot } from './snapshot.js';
import { runsOnce } from '../../shared/restart-policy.js';

/** Restarts by the runtime within CRASHLOOP_WINDOW_MS that make a crash loop even while the container runs between them. */
export const CRASHLOOP_RESTARTS = 3;
export const CRASHLOOP_WINDOW_MS = 5 * 60_000;
/** A crash loop ends once its container has run this long without a restart. */
export const CRASHLOOP_SETTLED_MS = 30_000;
/** Kubernetes' bounds of a termination message: the last 80 lines, at most 2 KiB. */
export const LAST_LINES_MAX = 80;
export const LAST_LINES_BYTES = 2048;
/** Restart-count samples kept per container: enough to span the window at the rate a crash loop restarts. */
const MAX_SAMPLES = 16;

interface RestartSample {
  readonly atMs: number;
  readonly count: number;
}

/** What the agent remembers of one container between observations. */
export interface ContainerRecall {
  /** Restart counts, oldest first, each noted when it changed. */
  readonly restarts: readonly RestartSample[];
  /** How its last run ended: the engine forgets it when the container starts again, a crash loop's report must not. */
  readonly lastExit?: { readonly exitCode: number; readonly oomKilled: boolean };
  readonly condition?: { readonly kind: InstanceCondition['kind']; readonly since: string };
  /** Since when it has run without a restart seen (undefined while it is not running). */
  readonly runningSinceMs?: number;
  /** Its output's last lines, read once when it entered the condition (undefined: not read yet). */
  readonly lastLines?: readonly string[];
}

/** By container id; holds only the containers of the last observation. */
export type ConditionMemory = ReadonlyMap<string, ContainerRecall>;

/** An owned container of a desired service, with the restart policy it runs under. */
export interface ConditionSubject {
  readonly container: ObservedContainer;
  readonly restart: ServiceSpec['restart'];
}

export interface ConditionStep {
  readonly memory: ConditionMemory;
  /** By container id. */
  readonly conditions: ReadonlyMap<string, InstanceCondition>;
  /** Containers in a condition whose last lines have not been read: the edge reads them (once) and calls withLastLines. */
  readonly unread: readonly string[];
}

/** The owned containers of desired services in one snapshot. */
export function conditionSubjects(desired: readonly HostDesired[], snapshot: RuntimeSnapshot): ConditionSubject[] {
  const documents = new Map(desired.map((document) => [document.project, document]));
  return snapshot.containers.flatMap((container) => {
    if (!container.ownership.owned) return [];
    const services = documents.get(container.identity.project)?.services;
    const service = services && Object.hasOwn(services, container.identity.service) ? services[container.identity.service] : undefined;
    return service ? [{ container, restart: service.restart }] : [];
  });
}

/** Pure: each subject's condition now, and the memory for the next observation. */
export function nextConditions(previous: ConditionMemory, subjects: readonly ConditionSubject[], now: Date): ConditionStep {
  const nowMs = now.getTime();
  const memory = new Map<string, ContainerRecall>();
  const conditions = new Map<string, InstanceCondition>();
  const unread: string[] = [];
  for (const { container, restart } of subjects) {
    const prior = previous.get(container.id);
    const restarts = sampledRestarts(prior?.restarts ?? [], container.restartCount, nowMs);
    const running = container.state === 'running';
    const restartedNow = restarts.at(-1)?.count !== prior?.restarts.at(-1)?.count;
    const runningSinceMs = running ? (prior?.runningSinceMs !== undefined && !restartedNow ? prior.runningSinceMs : nowMs) : undefined;
    const kept = { restarts, ...(runningSinceMs === undefined ? {} : { runningSinceMs }) };
    // An OOM kill seen once in a stay stays with the same exit code: an inspect from between two runs may not show it.
    const oomKilled = container.oomKilled === true || (prior?.condition !== undefined && prior.lastExit?.oomKilled === true && prior.lastExit.exitCode === container.exitCode);
    const lastExit = !running && container.exitCode !== undefined ? { exitCode: container.exitCode, oomKilled } : prior?.lastExit && { ...prior.lastExit, oomKilled: prior.lastExit.oomKilled || oomKilled };
    // A container in a condition that runs again keeps it until it has run for a while: it may fail again at once.
    const stays = running && prior?.condition !== undefined && runningSinceMs !== undefined && nowMs - runningSinceMs < CRASHLOOP_SETTLED_MS;
    const kind = stays ? prior.condition?.kind : conditionKind(container, restart, restarts, nowMs);
    if (kind === undefined) {
      memory.set(container.id, { ...kept, ...(lastExit ? { lastExit } : {}) });
      continue;
    }
    const since = prior?.condition?.kind === kind ? prior.condition.since : now.toISOString();
    // Lines read while it was in a condition stay: they are read once per stay, not on every cycle.
    const lastLines = prior?.condition === undefined ? undefined : prior.lastLines;
    memory.set(container.id, { ...kept, ...(lastExit ? { lastExit } : {}), condition: { kind, since }, ...(lastLines ? { lastLines } : {}) });
    if (lastLines === undefined) unread.push(container.id);
    conditions.set(container.id, {
      kind,
      ...(lastExit ? { exitCode: lastExit.exitCode } : {}),
      // A running container's flag is its last run's where the engine keeps it until the next kill.
      oomKilled: lastExit?.oomKilled === true || oomKilled,
      restartCount: container.restartCount ?? restarts.at(-1)?.count ?? 0,
      lastLines: [...(lastLines ?? [])],
      since,
    });
  }
  return { memory, conditions, unread };
}

/** The memory and conditions with one container's last lines read. */
export function withLastLines(step: ConditionStep, containerId: string, lines: readonly string[]): ConditionStep {
  const recall = step.memory.get(containerId);
  const condition = step.conditions.get(containerId);
  if (!recall || !condition) return step;
  return {
    memory: new Map(step.memory).set(containerId, { ...recall, lastLines: lines }),
    conditions: new Map(step.conditions).set(containerId, { ...condition, lastLines: [...lines] }),
    unread: step.unread.filter((id) => id !== containerId),
  };
}

/**
 * `crashloop`: the runtime is between restarts, or it restarted the container within CRASHLOOP_SETTLED_MS
 * and CRASHLOOP_RESTARTS times within the window. `failed`: exited non-zero under a policy that leaves
 * a failure be ("no"; "on-failure" once it gave up). An exit 0 of such a one-shot is its work done; an
 * exited container under "always" or "unless-stopped" was stopped, which is drift, not a crash.
 */
function conditionKind(container: ObservedContainer, restart: ServiceSpec['restart'], restarts: readonly RestartSample[], nowMs: number): InstanceCondition['kind'] | undefined {
  if (container.state === 'restarting') return 'crashloop';
  if (container.state === 'exited') return container.exitCode !== undefined && container.exitCode !== 0 && runsOnce(restart) ? 'failed' : undefined;
  // The first sample is when the container was first seen; only a later one is a restart seen.
  const lastRestart = restarts.length > 1 ? restarts.at(-1) : undefined;
  if (lastRestart === undefined || nowMs - lastRestart.atMs >= CRASHLOOP_SETTLED_MS) return undefined;
  return restartsWithin(restarts, nowMs) >= CRASHLOOP_RESTARTS ? 'crashloop' : undefined;
}

/** The samples with the current count noted, pruned to the window (plus the one before it, the baseline) and bounded. */
function sampledRestarts(samples: readonly RestartSample[], count: number | undefined, nowMs: number): RestartSample[] {
  const last = samples.at(-1);
  const noted = count === undefined || last?.count === count ? [...samples] : [...samples, { atMs: nowMs, count }];
  const windowStart = nowMs - CRASHLOOP_WINDOW_MS;
  const firstInside = noted.findIndex((sample) => sample.atMs > windowStart);
  const kept = firstInside <= 0 ? noted : noted.slice(firstInside - 1);
  return kept.length > MAX_SAMPLES ? kept.slice(-MAX_SAMPLES) : kept;
}

/** Restarts since the window began: the count now less the count at its start (or when first seen). */
function restartsWithin(samples: readonly RestartSample[], nowMs: number): number {
  const last = samples.at(-1);
  const first = samples[0];
  if (!last || !first) return 0;
  const windowStart = nowMs - CRASHLOOP_WINDOW_MS;
  const baseline = [...samples].reverse().find((sample) => sample.atMs <= windowStart) ?? first;
  return last.count - baseline.count;
}

/**
 * Pure: a container's output as a status carries it. Secret values are masked first (so that no
 * truncation can leave part of one), then the last LAST_LINES_MAX lines are kept within LAST_LINES_BYTES.
 */
export function terminationLines(output: string, secrets: readonly string[]): string[] {
  let masked = output;
  // Longest first: a secret that contains another is masked whole.
  for (const secret of [...new Set(secrets)].filter((value) => value !== '').sort((a, b) => b.length - a.length)) masked = masked.split(secret).join('***');
  const lines = masked.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  const kept: string[] = [];
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0 && kept.length < LAST_LINES_MAX; i -= 1) {
    const line = lines[i] as string;
    const size = Buffer.byteLength(line) + (kept.length > 0 ? 1 : 0);
    if (bytes + size > LAST_LINES_BYTES) {
      if (kept.length === 0) kept.unshift(tailBytes(line, LAST_LINES_BYTES));
      break;
    }
    kept.unshift(line);
    bytes += size;
  }
  return kept;
}

/** The end of a line within `limit` bytes of UTF-8, never starting inside a character. */
function tailBytes(line: string, limit: number): string {
  const bytes = Buffer.from(line);
  let start = bytes.length - limit;
  // Continuation bytes are 10xxxxxx: step forward to the start of a character.
  while (start < bytes.length && ((bytes[start] as number) & 0xc0) === 0x80) start += 1;
  return bytes.subarray(start).toString('utf8');
}
