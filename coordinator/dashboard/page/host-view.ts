import { html, type TemplateResult } from 'lit-html';
import type { DashboardHost, EventView, InstanceView, LastPlanEntry, ProjectStatusView } from '../view/dashboard-types.js';
import { ago, driftReasons, imageAndDigest, lastLines } from '../view/instance-facts.js';
import { routeHash } from '../view/route.js';
import type { LogsPanel, LogTarget } from './logs-panel.js';
import { eventList } from './events-view.js';
import { sparklineSvg } from './sparkline-svg.js';

export interface HostViewProps {
  readonly hostId: string;
  /** The live host from the fleet model, else the one /api/hosts answered; undefined while loading. */
  readonly host: DashboardHost | undefined;
  readonly events: readonly EventView[];
  readonly lastPlan: readonly LastPlanEntry[] | null;
  readonly error: string | undefined;
  readonly logs: LogsPanel;
  readonly nowMs: number;
}

/** One host: its projects and instances, the last plan, recent events and an instance's logs. */
export function hostView(props: HostViewProps): TemplateResult {
  const { host } = props;
  const projects = host?.status?.projects ?? [];
  const targets: LogTarget[] = projects.flatMap((project) => project.instances.map((instance) => ({ name: instance.name, project: project.project, service: instance.service, instance: instance.instance })));
  return html`<section class="host-view" data-testid="host-view" data-host=${props.hostId} aria-labelledby="host-heading">
    <h1 id="host-heading">Host ${props.hostId}</h1>
    ${props.error === undefined ? null : html`<p class="error" role="alert">${props.error}</p>`}
    ${host === undefined
      ? html`<p>Loading…</p>`
      : html`<dl class="facts">
            <dt>Heartbeat</dt>
            <dd>${ago(host.heartbeatAt, props.nowMs)} ${host.stale ? html`<span class="marker marker-stale" data-testid="stale">STALE</span>` : null}</dd>
            <dt>Labels</dt>
            <dd>${Object.entries(host.labels).map(([key, value]) => `${key}=${value}`).join(' ') || '-'}</dd>
            <dt>Scheduling</dt>
            <dd>${host.draining ? 'draining' : host.cordoned ? html`<span class="marker marker-cordoned" data-testid="cordoned">CORDONED</span>` : 'schedulable'}</dd>
            <dt>Reports</dt>
            <dd>${host.trust}${host.refused.map((refusal) => html`<br />refused ${refusal.report}: ${refusal.reason}`)}</dd>
            <dt>Cycles</dt>
            <dd>${sparklineSvg(host.cycles)}</dd>
          </dl>
          ${projects.length === 0 ? html`<p>No projects on this host.</p>` : projects.map((project) => projectSection(project, host))}`}
    <section aria-labelledby="plan-heading">
      <h2 id="plan-heading">Last plan</h2>
      <div data-testid="last-plan">${planView(props.lastPlan)}</div>
    </section>
    <section aria-labelledby="host-events-heading">
      <h2 id="host-events-heading">Recent events</h2>
      ${eventList(props.events.slice(-100).reverse(), false)}
    </section>
    ${props.logs.view(targets)}
  </section>`;
}

function projectSection(project: ProjectStatusView, host: DashboardHost): TemplateResult {
  const cell = host.cells.find((candidate) => candidate.project === project.project);
  const headingId = `project-${project.project}`;
  return html`<section class="host-project" aria-labelledby=${headingId}>
    <h2 id=${headingId}>
      <a href=${routeHash({ view: 'project', project: project.project })}>${project.project}</a>
      <span class=${`cell state-${cell?.state ?? 'converged'}`}>${cell?.state ?? (project.converged ? 'converged' : 'applying')}</span>
      r${project.desiredRevision}${project.appliedRevision === undefined || project.appliedRevision === project.desiredRevision ? '' : ` (applied r${project.appliedRevision})`}
    </h2>
    ${cell?.detail === undefined ? null : html`<p class="detail">${cell.detail}</p>`}
    ${project.rejected ? html`<p class="detail">Rejected r${project.rejected.revision}: ${project.rejected.reason}${project.rejected.lift ? `; to lift it, ${project.rejected.lift}` : ''}</p>` : null}
    ${project.blocked.map((block) => html`<p class="detail">Blocked (${block.gate}): ${block.message}</p>`)}
    <table class="instances">
      <caption>
        Instances of ${project.project}
      </caption>
      <thead>
        <tr>
          <th scope="col">Instance</th>
          <th scope="col">State</th>
          <th scope="col">Health</th>
          <th scope="col">Image</th>
          <th scope="col">Digest</th>
          <th scope="col">Drift</th>
          <th scope="col">Condition</th>
        </tr>
      </thead>
      <tbody>
        ${project.instances.map(instanceRow)}
      </tbody>
    </table>
  </section>`;
}

function instanceRow(instance: InstanceView): TemplateResult {
  const { image, digest } = imageAndDigest(instance);
  const reasons = driftReasons(instance);
  const condition = instance.condition;
  return html`<tr data-testid="instance" data-instance=${instance.name}>
    <th scope="row">${instance.name}</th>
    <td>${instance.state}${instance.restartCount ? ` (restarts ${instance.restartCount})` : ''}</td>
    <td>${instance.health}</td>
    <td class="mono">${image}</td>
    <td class="mono digest" title=${digest}>${digest}</td>
    <td data-testid="drift">${reasons.length === 0 ? 'none' : reasons.map((reason) => html`<div>${reason}</div>`)}</td>
    <td>
      ${condition === undefined
        ? '-'
        : html`${condition.kind}${condition.oomKilled ? ' (OOMKilled)' : ''}, exit code <span data-testid="exit-code">${condition.exitCode ?? 'unknown'}</span>, restarts ${condition.restartCount}
            <pre data-testid="last-lines" class="last-lines">${lastLines(condition, 10).join('\n')}</pre>`}
    </td>
  </tr>`;
}

/** The last plan of each project, as its `planned` event said it. */
function planView(plan: readonly LastPlanEntry[] | null): TemplateResult | string {
  if (plan === null || plan.length === 0) return 'No plan known for this host.';
  return html`<ul class="plans">
    ${plan.map(
      (entry) => html`<li>
        <strong>${entry.project}</strong> <time datetime=${entry.at}>${entry.at}</time>: ${entry.message}
        <a class="correlation" href=${routeHash({ view: 'events', filter: { correlation: entry.correlationID } })} title="Every event of this cycle">${entry.correlationID}</a>
      </li>`,
    )}
  </ul>`;
}
