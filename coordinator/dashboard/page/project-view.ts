import { html, type TemplateResult } from 'lit-html';
import type { AuthorView, DesiredDiffView, FieldChangeView, ProjectDetail } from '../view/dashboard-types.js';
import { routeHash } from '../view/route.js';

export interface ProjectViewProps {
  readonly project: string;
  readonly detail: ProjectDetail | undefined;
  readonly error: string | undefined;
}

/** A project across hosts: the revision each host runs, who wrote it, and the typed diff of its last change. */
export function projectView(props: ProjectViewProps): TemplateResult {
  const { detail } = props;
  return html`<section class="project-view" data-testid="project-view" data-project=${props.project} aria-labelledby="project-heading">
    <h1 id="project-heading">Project ${props.project}</h1>
    ${props.error === undefined ? null : html`<p class="error" role="alert">${props.error}</p>`}
    ${detail === undefined
      ? html`<p>Loading…</p>`
      : html`<table class="revisions">
            <caption>
              Revision per host
            </caption>
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Desired</th>
                <th scope="col">Applied</th>
                <th scope="col">State</th>
                <th scope="col">Written by</th>
              </tr>
            </thead>
            <tbody>
              ${detail.hosts.map(
                (host) => html`<tr data-testid="project-host" data-host=${host.hostId}>
                  <th scope="row"><a href=${routeHash({ view: 'host', hostId: host.hostId })}>${host.hostId}</a></th>
                  <td>${revision(host.desiredRevision)}</td>
                  <td>${revision(host.appliedRevision)}</td>
                  <td>${host.state === null ? 'unknown' : html`<span class=${`cell state-${host.state}`}>${host.state}</span>`}</td>
                  <td>${authorName(host.author)}</td>
                </tr>`,
              )}
            </tbody>
          </table>
          <h2>Last change per host</h2>
          ${detail.history.length === 0
            ? html`<p>No history.</p>`
            : detail.history.map(
                (change) => html`<article class="change" aria-label=${`${change.hostId} ${revision(change.revision)}`}>
                  <h3>${change.hostId}: ${revision(change.revision)} by ${authorName(change.author)} at <time datetime=${change.at}>${change.at}</time></h3>
                  <div data-testid="diff">${diffView(change.diff)}</div>
                </article>`,
              )}`}
  </section>`;
}

function authorName(author: AuthorView | null): string {
  return author === null ? 'unknown' : (author.name ?? author.natsUser ?? author.key);
}

function revision(value: number | null): string {
  return value === null ? '-' : `r${value}`;
}

function diffView(diff: DesiredDiffView | null): TemplateResult | string {
  if (diff === null) return 'First revision: nothing to compare with.';
  if (diff.services.length === 0 && diff.fields.length === 0) return 'No change to what runs.';
  return html`<ul class="diff">
    ${diff.services.map(
      (service) => html`<li class=${`diff-${service.type}`}>
        <strong>${diffMark(service.type)} service ${service.service}</strong> ${service.type}${service.forces ? ' (replaces its containers)' : ''}
        ${fieldList(service.fields)}
      </li>`,
    )}
    ${diff.fields.length === 0 ? null : html`<li><strong>document</strong> ${fieldList(diff.fields)}</li>`}
  </ul>`;
}

function fieldList(fields: readonly FieldChangeView[]): TemplateResult | null {
  if (fields.length === 0) return null;
  return html`<ul>
    ${fields.map(
      (field) => html`<li class=${`diff-${field.type}`}>
        <code>${diffMark(field.type)} ${field.field}</code>: ${field.type === 'added' ? '' : html`<code>${show(field.old)}</code>`}${field.type === 'edited' ? ' → ' : ''}${field.type === 'deleted' ? '' : html`<code>${show(field.new)}</code>`}${field.forces ? ' (forces replace)' : ''}
      </li>`,
    )}
  </ul>`;
}

function diffMark(type: 'added' | 'deleted' | 'edited'): string {
  return type === 'added' ? '+' : type === 'deleted' ? '-' : '~';
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
