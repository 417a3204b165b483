import type { EventView } from '../view/dashboard-types.js';
import { html, type TemplateResult } from 'lit-html';
import { EVENT_TYPES } from '../../../shared/event-types.js';
import { routeHash, type EventsQuery } from '../view/route.js';

export interface EventsViewProps {
  readonly query: EventsQuery;
  /** Newest last, as the API and the live stream give them. */
  readonly events: readonly EventView[];
  readonly error: string | undefined;
  readonly loading: boolean;
  readonly onQuery: (query: EventsQuery) => void;
}

/** The event stream with the filters of `hostwright events`: loaded, then tailed live. */
export function eventsView(props: EventsViewProps): TemplateResult {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const field = (name: string) => {
      const value = String(form.get(name) ?? '').trim();
      return value === '' ? {} : { [name]: value };
    };
    props.onQuery({ ...field('host'), ...field('project'), ...field('type'), ...field('correlation') });
  };
  const { query } = props;
  return html`<section class="events-view" data-testid="events-view" aria-labelledby="events-heading">
    <h1 id="events-heading">Events</h1>
    <form class="filters" role="search" aria-label="Filter events" @submit=${submit}>
      <label>Host <input name="host" data-testid="events-filter-host" type="search" .value=${query.host ?? ''} /></label>
      <label>Project <input name="project" data-testid="events-filter-project" type="search" .value=${query.project ?? ''} /></label>
      <label
        >Type
        <select name="type" data-testid="events-filter-type" .value=${query.type ?? ''}>
          <option value="">Any type</option>
          ${EVENT_TYPES.map((type) => html`<option value=${type} ?selected=${type === query.type}>${type}</option>`)}
        </select></label
      >
      <label>Correlation <input name="correlation" data-testid="events-filter-correlation" type="search" .value=${query.correlation ?? ''} /></label>
      <button type="submit">Apply</button>
    </form>
    ${props.error === undefined ? null : html`<p class="error" role="alert">${props.error}</p>`}
    ${props.loading ? html`<p>Loading…</p>` : null}
    ${eventList([...props.events].reverse(), true)}
  </section>`;
}

/** Events, newest first, each as text; the correlation id opens every event of the same cycle or rollout. */
export function eventList(events: readonly EventView[], withHost: boolean): TemplateResult {
  if (events.length === 0) return html`<p>No events.</p>`;
  return html`<ol class="event-list">
    ${events.map(
      (event) => html`<li class=${`event severity-${event.severity}`} data-testid="event" data-type=${event.type}>
        <time datetime=${event.timestamp}>${event.timestamp}</time>
        <span class="event-type">${event.type}</span>
        ${withHost ? html`<a href=${routeHash({ view: 'host', hostId: event.hostId })}>${event.hostId}</a>` : null}
        <span class="event-project">${event.project}${event.service === undefined ? '' : `/${event.service}${event.instance === undefined ? '' : `-${event.instance}`}`}</span>
        <span class="event-message">${event.message}</span>
        <a class="correlation" data-testid="correlation" href=${routeHash({ view: 'events', filter: { correlation: event.correlationID } })} title="Every event of this cycle or rollout">${event.correlationID}</a>
      </li>`,
    )}
  </ol>`;
}
