import type { Action } from '../../shared/actions.js';
import type { HostDesired } from '../../shared/host-desired.js';
import type { GateBlock } from '../../shared/host-status.js';
import { actionProjects } from './action-projects.js';
import { diffHost, type HostDiff, type JournalView } from './diff.js';
import { evaluateGates, runnableActions } from './gates.js';
import type { HostPolicy } from './host-policy.js';
import type { ImageRemoval } from './image-cleanup.js';
import { planHost, type ActionPlan, type PlanMode, type PullTimes } from './planner.js';
import type { RuntimeSnapshot } from './snapshot.js';

// A dry run and the cycle that applies the same document both plan here, from the same inputs
// (every desired project of the host, the candidate in its project's place): `plan` cannot miss
// a gate `apply` meets, such as a host port another project already publishes.

/** A cycle's plan: the diff it came from, the gates' verdicts and the actions they let run. */
export interface CyclePlan {
  readonly diff: HostDiff;
  readonly plan: ActionPlan;
  readonly blocks: readonly GateBlock[];
  readonly runnable: readonly Action[];
}

export interface CyclePlanInput {
  /** Every desired document of the host (withCandidates: with a dry run's candidate in place). */
  readonly desired: readonly HostDesired[];
  readonly snapshot: RuntimeSnapshot;
  readonly journal: JournalView;
  readonly namePrefix: string;
  readonly modes: ReadonlyMap<string, PlanMode>;
  /** Projects none of whose actions run (rejected, backing off): their gates are evaluated all the same. */
  readonly held?: ReadonlySet<string>;
  readonly pulls?: PullTimes;
  readonly imageRemovals?: readonly ImageRemoval[];
  readonly policy?: HostPolicy;
  /** This host's mesh block, when it takes part in a mesh (agent/mesh/mesh-networks.ts). */
  readonly meshBlock?: string;
}

/** Pure: diff, plan and safety gates of one cycle; the same input gives the same plan byte for byte. */
export function planCycle(input: CyclePlanInput): CyclePlan {
  const diff = diffHost({ desired: input.desired, snapshot: input.snapshot, journal: input.journal, namePrefix: input.namePrefix });
  const plan = planHost({ diff, desired: input.desired, snapshot: input.snapshot, modes: input.modes, ...(input.pulls ? { pulls: input.pulls } : {}), ...(input.imageRemovals && input.imageRemovals.length > 0 ? { imageRemovals: input.imageRemovals } : {}), ...(input.meshBlock === undefined ? {} : { meshBlock: input.meshBlock }) });
  const blocks = evaluateGates({ plan, diff, desired: input.desired, snapshot: input.snapshot, ...(input.policy ? { policy: input.policy } : {}) });
  return { diff, plan, blocks, runnable: runnableActions(plan, blocks, input.held) };
}

/** What a cycle plans with: every desired document of the host, and how each project is planned. */
export interface CycleDesired {
  readonly desired: readonly HostDesired[];
  readonly modes: ReadonlyMap<string, PlanMode>;
  /** The projects of the candidates (none outside a dry run). */
  readonly candidates: ReadonlySet<string>;
}

/**
 * The documents and modes of a cycle: the stored documents, with a dry run's candidates in their
 * projects' places, planned as the cycle that applies them once written will plan them.
 */
export function cycleDesired(stored: readonly HostDesired[], candidates: readonly HostDesired[] | undefined, settled: Settled, explicit: boolean): CycleDesired {
  const desired = candidates ? withCandidates(stored, candidates) : stored;
  const projects = new Set((candidates ?? []).map((document) => document.project));
  return { desired, modes: cycleModes(desired, settled, { explicit, converging: projects }), candidates: projects };
}

/** The revisions a host has reached or given up on, per project. */
export interface Settled {
  readonly applied: ReadonlyMap<string, number>;
  readonly rejected: ReadonlyMap<string, { readonly revision: number }>;
}

/**
 * The host's desired documents once `candidates` are stored, in the store's order: each takes its
 * project's place, or joins at the end (the order names rival claims to a container name in).
 */
export function withCandidates(stored: readonly HostDesired[], candidates: readonly HostDesired[]): HostDesired[] {
  const byProject = new Map(candidates.map((candidate) => [candidate.project, candidate]));
  const kept = stored.map((document) => byProject.get(document.project) ?? document);
  const present = new Set(stored.map((document) => document.project));
  return [...kept, ...candidates.filter((candidate) => !present.has(candidate.project))];
}

/**
 * Per project, how a cycle plans it: a revision not yet applied (nor rejected) converges, one
 * already reached is maintained (drift handled by its policy). An explicit cycle converges every
 * project; `converging` always converge (a candidate is written as a new revision).
 */
export function cycleModes(
  desired: readonly HostDesired[],
  settled: Settled,
  options: { readonly explicit: boolean; readonly converging?: ReadonlySet<string> },
): Map<string, PlanMode> {
  return new Map(
    desired.map((document): [string, PlanMode] => {
      if (options.explicit || options.converging?.has(document.project)) return [document.project, 'converge'];
      const reached = settled.applied.get(document.project) === document.revision || settled.rejected.get(document.project)?.revision === document.revision;
      return [document.project, reached ? 'maintain' : 'converge'];
    }),
  );
}

/**
 * What a cycle's plan holds for `projects`: their diff, actions (an image pull when one of them
 * needs it), drift, unused volumes and blocks. A dry run of a candidate reports this part: the
 * other projects were planned only so that their claims on the host count.
 */
export function scopedTo(planned: CyclePlan, projects: ReadonlySet<string>): CyclePlan {
  const projectsOf = actionProjects(planned.plan.actions);
  const inScope = (action: Action) => projectsOf(action).some((project) => projects.has(project));
  const { plan } = planned;
  return {
    diff: { ...planned.diff, projects: planned.diff.projects.filter((entry) => projects.has(entry.project)) },
    plan: {
      ...plan,
      projects: plan.projects.filter((revision) => projects.has(revision.project)),
      actions: plan.actions.filter(inScope),
      drift: plan.drift.filter((finding) => projects.has(finding.key.project)),
      unusedVolumes: plan.unusedVolumes.filter((volume) => projects.has(volume.project)),
    },
    blocks: planned.blocks.filter((block) => projects.has(block.project)),
    runnable: planned.runnable.filter(inScope),
  };
}
