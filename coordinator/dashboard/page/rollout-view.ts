import { html, svg, type TemplateResult } from 'lit-html';
import type { RolloutHostView, RolloutView } from '../view/dashboard-types.js';
import { convergeTimes, formatDuration } from '../view/converge-times.js';
import { rolloutTimeline } from '../view/rollout-timeline.js';
import { routeHash } from '../view/route.js';

export type RolloutAction = 'pause' | 'resume' | 'abort';

export interface RolloutViewProps {
  readonly id: string;
  readonly rollout: RolloutView | undefined;
  readonly actionsAllowed: boolean;
  /** What the last action answered, or why it failed. */
  readonly actionMessage: string | undefined;
  readonly busy: boolean;
  readonly error: string | undefined;
  readonly nowMs: number;
  readonly onAction: (action: RolloutAction) => void;
}

const FINISHED = ['succeeded', 'failed', 'rolled-back', 'aborted'];

/** One rollout: its waves with each host's state and gate, a timeline, converge times, and its actions when allowed. */
export function rolloutView(props: RolloutViewProps): TemplateResult {
  const { rollout } = props;
  return html`<section class="rollout-view" data-testid="rollout-view" data-rollout=${props.id} aria-labelledby="rollout-heading">
    <h1 id="rollout-heading">Rollout ${props.id}</h1>
    ${props.error === undefined ? null : html`<p class="error" role="alert">${props.error}</p>`}
    ${rollout === undefined ? html`<p>Loading…</p>` : rolloutBody(rollout, props)}
  </section>`;
}

function rolloutBody(rollout: RolloutView, props: RolloutViewProps): TemplateResult {
  const gates = new Map(rollout.gate.map((gate) => [gate.hostId, gate.waitingFor]));
  const byHost = new Map(rollout.hosts.map((host) => [host.hostId, host]));
  const finished = FINISHED.includes(rollout.status);
  return html`<p>
      Project <a href=${routeHash({ view: 'project', project: rollout.project })}>${rollout.project}</a>, status
      <span class=${`status status-${rollout.status}`} data-testid="rollout-status">${rollout.status}</span>, wave ${Math.min(rollout.currentWave + 1, rollout.waves.length)} of
      ${rollout.waves.length}. <a href=${routeHash({ view: 'events', filter: { correlation: rollout.correlationID } })}>Its events</a>
    </p>
    ${rollout.reason === undefined ? null : html`<p class="detail" data-testid="rollout-reason">${rollout.reason}</p>`}
    ${props.actionsAllowed && !finished ? actions(rollout, props) : null}
    ${props.actionMessage === undefined ? null : html`<p role="status" data-testid="action-result">${props.actionMessage}</p>`}
    <h2>Waves</h2>
    <ol class="waves">
      ${rollout.waves.map(
        (hosts, wave) => html`<li data-testid="wave" data-wave=${wave} class=${wave === rollout.currentWave && !finished ? 'wave current' : 'wave'}>
          <h3>Wave ${wave + 1}${wave === 0 && rollout.waves.length > 1 ? ' (canary)' : ''}</h3>
          <ul>
            ${hosts.map((hostId) => rolloutHost(hostId, byHost.get(hostId), gates.get(hostId), props.nowMs))}
          </ul>
        </li>`,
      )}
    </ol>
    <h2>Timeline</h2>
    ${timeline(rollout, props.nowMs)}
    <h2>Converge time per revision</h2>
    ${convergeTable(rollout)}`;
}

function actions(rollout: RolloutView, props: RolloutViewProps): TemplateResult {
  const button = (action: RolloutAction, label: string, enabled: boolean) =>
    html`<button type="button" data-testid=${`action-${action}`} ?disabled=${!enabled || props.busy} @click=${() => props.onAction(action)}>${label}</button>`;
  return html`<div class="actions" role="group" aria-label="Rollout actions">
    ${button('pause', 'Pause', rollout.status === 'running')} ${button('resume', 'Resume', rollout.status === 'paused')} ${button('abort', 'Abort', true)}
  </div>`;
}

function rolloutHost(hostId: string, host: RolloutHostView | undefined, gate: string | undefined, nowMs: number): TemplateResult {
  const state = host?.state ?? 'pending';
  const since = host?.startedAt === undefined ? undefined : Date.parse(host.startedAt);
  const end = host?.finishedAt === undefined ? nowMs : Date.parse(host.finishedAt);
  const inWave = since === undefined || !Number.isFinite(since) ? undefined : formatDuration(end - since);
  return html`<li data-testid="rollout-host" data-host=${hostId} data-state=${state}>
    <a href=${routeHash({ view: 'host', hostId })}>${hostId}</a>
    <span class=${`status rollout-state-${state}`}>${state}</span>
    ${host?.writtenRevision === undefined ? null : html`r${host.writtenRevision}`} ${inWave === undefined ? null : html`<span class="muted">${inWave} in wave</span>`}
    ${gate === undefined && host?.message === undefined ? null : html`<div class="gate" data-testid="gate">${gate ?? host?.message}</div>`}
  </li>`;
}

function timeline(rollout: RolloutView, nowMs: number): TemplateResult {
  const geometry = rolloutTimeline(rollout, nowMs);
  const label = `Timeline of rollout ${rollout.id}: ${geometry.lanes.length} hosts over ${formatDuration(geometry.endMs - geometry.startMs)}`;
  return html`<div class="timeline-box">
    ${svg`<svg data-testid="timeline" class="timeline" width=${geometry.width} height=${geometry.height} viewBox="0 0 ${geometry.width} ${geometry.height}" role="img" aria-label=${label}>
      <title>${label}</title>
      ${geometry.waves.map((wave) => svg`<rect class="timeline-wave" x=${wave.x} y=${wave.y} width=${wave.width} height=${wave.height}></rect>`)}
      ${geometry.lanes.map(
        (lane) => svg`<g data-host=${lane.hostId}>
          <text class="timeline-label" x="2" y=${lane.y + 13}>${lane.hostId}</text>
          ${lane.bar === undefined ? null : svg`<rect class=${`timeline-bar rollout-state-${lane.state}`} x=${lane.bar.x} y=${lane.y + 3} width=${lane.bar.width} height="12"><title>${lane.hostId}: ${lane.state}</title></rect>`}
          ${lane.bar?.healthyX === undefined ? null : svg`<line class="timeline-healthy" x1=${lane.bar.healthyX} x2=${lane.bar.healthyX} y1=${lane.y + 1} y2=${lane.y + 17}></line>`}
        </g>`,
      )}
      ${geometry.ticks.map((tick) => svg`<text class="timeline-tick" x=${tick.x} y=${geometry.height - 4}>${tick.label}</text>`)}
    </svg>`}
  </div>`;
}

function convergeTable(rollout: RolloutView): TemplateResult {
  const times = convergeTimes(rollout);
  return html`<div data-testid="converge-times">
    ${times.length === 0
      ? html`<p>No host has converged yet.</p>`
      : html`<table>
          <caption>
            From write to healthy
          </caption>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Hosts</th>
              <th scope="col">Median</th>
              <th scope="col">Slowest</th>
            </tr>
          </thead>
          <tbody>
            ${times.map(
              (time) => html`<tr data-revision=${time.revision}>
                <th scope="row">r${time.revision}</th>
                <td>${time.hosts}</td>
                <td>${formatDuration(time.medianMs)}</td>
                <td>${formatDuration(time.maxMs)}</td>
              </tr>`,
            )}
          </tbody>
        </table>`}
  </div>`;
}
