import { html, type TemplateResult } from 'lit-html';
import type { RolloutView } from '../view/dashboard-types.js';
import { routeHash } from '../view/route.js';

/** Every rollout the dashboard knows, newest first. */
export function rolloutsView(rollouts: readonly RolloutView[], error: string | undefined): TemplateResult {
  const sorted = [...rollouts].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return html`<section class="rollouts-view" data-testid="rollouts-view" aria-labelledby="rollouts-heading">
    <h1 id="rollouts-heading">Rollouts</h1>
    ${error === undefined ? null : html`<p class="error" role="alert">${error}</p>`}
    ${sorted.length === 0
      ? html`<p>No rollouts.</p>`
      : html`<table>
          <caption>
            Rollouts, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Rollout</th>
              <th scope="col">Project</th>
              <th scope="col">Status</th>
              <th scope="col">Wave</th>
              <th scope="col">Hosts healthy</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            ${sorted.map(
              (rollout) => html`<tr data-testid="rollout-row" data-rollout=${rollout.id} data-status=${rollout.status}>
                <th scope="row"><a href=${routeHash({ view: 'rollout', id: rollout.id })}>${rollout.id}</a></th>
                <td>${rollout.project}</td>
                <td><span class=${`status status-${rollout.status}`}>${rollout.status}</span></td>
                <td>${Math.min(rollout.currentWave + 1, rollout.waves.length)} of ${rollout.waves.length}</td>
                <td>${rollout.hosts.filter((host) => host.state === 'healthy').length} of ${rollout.hosts.length}</td>
                <td><time datetime=${rollout.createdAt}>${rollout.createdAt}</time></td>
              </tr>`,
            )}
          </tbody>
        </table>`}
  </section>`;
}
