import { html, type TemplateResult } from 'lit-html';
import { CELL_STATES, type DashboardHostSummary } from '../view/dashboard-types.js';
import { cyclesOfTuples } from '../view/sparkline.js';
import { COUNT_KEYS, HOST_MARKERS, type CountKey, type HostRow } from '../view/fleet-rows.js';
import type { FleetFilter } from '../view/fleet-filter.js';
import type { RowWindow } from '../view/row-window.js';
import { routeHash } from '../view/route.js';
import { sparklineSvg } from './sparkline-svg.js';

/** Every row of the grid is this tall (app.css `.host-row` agrees): the window's arithmetic depends on it. */
export const ROW_HEIGHT = 40;

export interface FleetViewProps {
  readonly counts: Readonly<Record<CountKey, number>>;
  readonly projects: readonly string[];
  readonly filter: FleetFilter;
  readonly shown: number;
  readonly total: number;
  readonly window: RowWindow;
  readonly rows: readonly HostRow[];
  readonly onFilter: (change: Partial<FleetFilter>) => void;
  readonly onScroll: () => void;
}

const COUNT_LABELS: Readonly<Record<CountKey, string>> = {
  rejected: 'rejected',
  'crash-loop': 'crash loop',
  failed: 'failed',
  blocked: 'blocked',
  'backing-off': 'backing off',
  unhealthy: 'unhealthy',
  drift: 'drift',
  removing: 'removing',
  applying: 'applying',
  converged: 'converged',
  stale: 'stale hosts',
  cordoned: 'cordoned hosts',
  hosts: 'hosts',
};

/** The fleet at a glance: counts, filters and the grid of hosts × projects, only its visible rows in the DOM. */
export function fleetView(props: FleetViewProps): TemplateResult {
  const value = (event: Event) => (event.target as HTMLInputElement | HTMLSelectElement).value;
  return html`<section class="fleet" aria-labelledby="fleet-heading">
    <h1 id="fleet-heading">Fleet</h1>
    <ul class="counts" data-testid="counts" aria-label="Counts">
      ${COUNT_KEYS.map(
        (key) => html`<li data-count=${key} data-value=${props.counts[key]} class=${`count state-${key}`}><strong>${props.counts[key]}</strong> ${COUNT_LABELS[key]}</li>`,
      )}
    </ul>
    <form class="filters" role="search" aria-label="Filter hosts" @submit=${(event: Event) => event.preventDefault()}>
      <label>Label <input data-testid="filter-label" type="search" placeholder="key=value" .value=${props.filter.label} @input=${(event: Event) => props.onFilter({ label: value(event) })} /></label>
      <label
        >Project
        <select data-testid="filter-project" .value=${props.filter.project} @change=${(event: Event) => props.onFilter({ project: value(event) })}>
          <option value="">All projects</option>
          ${props.projects.map((project) => html`<option value=${project} ?selected=${project === props.filter.project}>${project}</option>`)}
        </select></label
      >
      <label
        >State
        <select data-testid="filter-state" .value=${props.filter.state} @change=${(event: Event) => props.onFilter({ state: value(event) })}>
          <option value="">Any state</option>
          ${[...CELL_STATES, ...HOST_MARKERS].map((state) => html`<option value=${state} ?selected=${state === props.filter.state}>${state}</option>`)}
        </select></label
      >
      <label>Host <input data-testid="filter-host" type="search" placeholder="part of the host id" .value=${props.filter.host} @input=${(event: Event) => props.onFilter({ host: value(event) })} /></label>
    </form>
    <p class="row-count" data-testid="row-count" aria-live="polite">${props.shown} of ${props.total} hosts</p>
    <div class="grid-viewport" tabindex="0" aria-label="Hosts" role="region" @scroll=${props.onScroll}>
      <div class="grid-spacer">
        <ul class="grid-rows">
          ${props.rows.map((row) => hostRowView(row.host))}
        </ul>
      </div>
    </div>
  </section>`;
}

function hostRowView(host: DashboardHostSummary): TemplateResult {
  const labels = Object.entries(host.labels).map(([key, value]) => `${key}=${value}`);
  return html`<li class="host-row" data-testid="host-row" data-host=${host.hostId}>
    <span class="host-name">
      <a href=${routeHash({ view: 'host', hostId: host.hostId })}>${host.hostId}</a>
      ${host.stale ? html`<span class="marker marker-stale" data-testid="stale">STALE</span>` : null}
      ${host.cordoned ? html`<span class="marker marker-cordoned" data-testid="cordoned">${host.draining ? 'DRAINING' : 'CORDONED'}</span>` : null}
      ${host.trust === 'refused' ? html`<span class="marker marker-refused" data-testid="refused">REFUSED</span>` : null}
      ${host.registered === false ? html`<span class="marker marker-stale">NOT REGISTERED</span>` : null}
    </span>
    <span class="host-labels" title=${labels.join(' ')}>${labels.join(' ')}</span>
    <span class="host-cells">
      ${host.cells.map(
        (cell) =>
          html`<a
            class=${`cell state-${cell.state}${host.stale ? ' cell-last-known' : ''}`}
            data-testid="cell"
            data-project=${cell.project}
            data-state=${cell.state}
            data-last-known=${host.stale ? 'true' : 'false'}
            href=${routeHash({ view: 'project', project: cell.project })}
            title=${`${host.stale ? 'last known, the host is STALE: ' : ''}${cell.detail ?? `${cell.project} r${cell.revision}: ${cell.state}`}`}
            >${cell.project}: ${host.stale ? `${cell.state}?` : cell.state}</a
          >`,
      )}
    </span>
    ${sparklineSvg(cyclesOfTuples(host.cycles))}
  </li>`;
}
