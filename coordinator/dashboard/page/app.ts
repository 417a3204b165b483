import { html, render, type TemplateResult } from 'lit-html';
import type { DashboardHost, DashboardSession, FleetSnapshot, HostDetail, HostsChange, ProjectDetail, RolloutView, EventView } from '../view/dashboard-types.js';
import { applyHostsChange, fleetCounts, fleetProjects, fleetRows, type CountKey, type HostRow } from '../view/fleet-rows.js';
import { filterRows, NO_FILTER, type FleetFilter } from '../view/fleet-filter.js';
import { rowWindow } from '../view/row-window.js';
import { parseRoute, routeHash, eventsQueryString, type EventsQuery, type Route } from '../view/route.js';
import { connectionState } from '../view/connection-state.js';
import { eventMatches, keepLast } from '../view/event-match.js';
import { getJson, postJson } from './api.js';
import { openLive } from './live-client.js';
import { fleetView, ROW_HEIGHT } from './fleet-view.js';
import { hostView } from './host-view.js';
import { projectView } from './project-view.js';
import { rolloutsView } from './rollouts-view.js';
import { rolloutView, type RolloutAction } from './rollout-view.js';
import { eventsView } from './events-view.js';
import { LogsPanel } from './logs-panel.js';

/** Live events kept for the events view and host views. */
const MAX_LIVE_EVENTS = 500;

/**
 * The page: one in-memory fleet model fed by /api/live, and the view the hash names rendered from
 * it. Renders are coalesced to one per animation frame; the fleet grid renders only its visible rows.
 */
class DashboardApp {
  #session: DashboardSession | undefined;
  #rows: HostRow[] = [];
  #derived: { counts: Record<CountKey, number>; projects: string[] } | undefined;
  #filter: FleetFilter = NO_FILTER;
  #filtered: readonly HostRow[] | undefined;
  #rollouts = new Map<string, RolloutView>();
  #liveEvents: EventView[] = [];
  #connection: { open: boolean; lastMessageAt: number | undefined } = { open: false, lastMessageAt: undefined };
  #route: Route = { view: 'fleet' };
  /** What the current view loaded from the API; reset when the route changes. */
  #loaded: { key: string; value?: unknown; error?: string } = { key: '' };
  #action: { busy: boolean; message?: string } = { busy: false };
  /** The host view's refetch in flight, and whether its host changed again meanwhile. */
  #refreshing: { key: string; again: boolean } | undefined;
  #frame: number | undefined;
  readonly #logs = new LogsPanel(() => this.schedule());

  constructor(
    private readonly banner: HTMLElement,
    private readonly main: HTMLElement,
  ) {}

  start(): void {
    window.addEventListener('hashchange', () => this.#navigate());
    this.#navigate();
    getJson<DashboardSession>('/api/session').then(
      (session) => {
        this.#session = session;
        this.schedule();
      },
      () => undefined,
    );
    openLive('/api/live', {
      snapshot: (snapshot) => this.#snapshot(snapshot),
      hosts: (change) => this.#hosts(change),
      rollout: (rollout) => {
        this.#rollouts.set(rollout.id, rollout);
        if (this.#route.view === 'rollout' || this.#route.view === 'rollouts') this.schedule();
      },
      event: (event) => {
        this.#liveEvents = keepLast(this.#liveEvents, [event], MAX_LIVE_EVENTS);
        if (this.#route.view === 'events' || this.#route.view === 'host') this.schedule();
      },
      connection: (open, messageAt) => {
        const wasOpen = this.#connection.open;
        this.#connection = { open, lastMessageAt: messageAt ?? this.#connection.lastMessageAt };
        if (wasOpen !== open) this.#renderBanner();
      },
    });
    // The banner turns stale without any message arriving: it is checked every second.
    setInterval(() => this.#renderBanner(), 1000);
    window.addEventListener('resize', () => this.schedule());
  }

  schedule(): void {
    if (this.#frame !== undefined) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = undefined;
      this.#render();
    });
  }

  #snapshot(snapshot: FleetSnapshot): void {
    this.#setRows(fleetRows(snapshot.hosts));
    this.#rollouts = new Map(snapshot.rollouts.map((rollout) => [rollout.id, rollout]));
    this.schedule();
  }

  #hosts(change: HostsChange): void {
    this.#setRows(applyHostsChange(this.#rows, change));
    const route = this.#route;
    // The fleet view carries summaries: the host view fetches its host again when it changed.
    if (route.view === 'host' && (change.hosts.some((host) => host.hostId === route.hostId) || change.removed.includes(route.hostId))) this.#refresh();
    this.schedule();
  }

  #setRows(rows: HostRow[]): void {
    this.#rows = rows;
    this.#derived = undefined;
    this.#filtered = undefined;
  }

  #navigate(): void {
    this.#route = parseRoute(window.location.hash);
    this.#action = { busy: false };
    if (this.#route.view !== 'host') this.#logs.close();
    this.#load();
    this.schedule();
    // A new view starts at its top, its heading announced.
    window.scrollTo(0, 0);
  }

  /** Fetches what the current view needs beyond the live model. */
  #load(): void {
    const route = this.#route;
    const request = ((): { key: string; path: string } | undefined => {
      switch (route.view) {
        case 'host':
          return { key: routeHash(route), path: `/api/hosts/${encodeURIComponent(route.hostId)}` };
        case 'project':
          return { key: routeHash(route), path: `/api/projects/${encodeURIComponent(route.project)}` };
        case 'rollouts':
          return { key: routeHash(route), path: '/api/rollouts' };
        case 'rollout':
          return { key: routeHash(route), path: `/api/rollouts/${encodeURIComponent(route.id)}` };
        case 'events': {
          const filters = eventsQueryString(route.filter);
          return { key: routeHash(route), path: `/api/events${filters === '' ? '?limit=200' : `?${filters}&limit=200`}` };
        }
        default:
          return undefined;
      }
    })();
    if (request === undefined) {
      this.#loaded = { key: '' };
      return;
    }
    this.#loaded = { key: request.key };
    this.#fetch(request);
  }

  /**
   * The current view's data fetched again, what it showed kept until the answer: one request at a
   * time, and one more after it when asked again meanwhile.
   */
  #refresh(): void {
    if (this.#refreshing !== undefined) {
      this.#refreshing.again = true;
      return;
    }
    const route = this.#route;
    if (route.view !== 'host') return;
    const key = routeHash(route);
    this.#refreshing = { key, again: false };
    getJson<unknown>(`/api/hosts/${encodeURIComponent(route.hostId)}`).then(
      (value) => this.#refreshed(key, { value }),
      (error: unknown) => this.#refreshed(key, { value: this.#loaded.value, error: error instanceof Error ? error.message : String(error) }),
    );
  }

  #refreshed(key: string, result: { value?: unknown; error?: string }): void {
    const again = this.#refreshing?.again === true;
    this.#refreshing = undefined;
    this.#settle(key, result);
    if (again) this.#refresh();
  }

  #fetch(request: { key: string; path: string }): void {
    getJson<unknown>(request.path).then(
      (value) => this.#settle(request.key, { value }),
      (error: unknown) => this.#settle(request.key, { error: error instanceof Error ? error.message : String(error) }),
    );
  }

  #settle(key: string, result: { value?: unknown; error?: string }): void {
    if (this.#loaded.key !== key) return;
    this.#loaded = { key, ...result };
    const value = result.value as { rollouts?: RolloutView[]; rollout?: RolloutView } | undefined;
    for (const rollout of [...(value?.rollouts ?? []), ...(value?.rollout ? [value.rollout] : [])]) this.#rollouts.set(rollout.id, rollout);
    this.schedule();
  }

  #renderBanner(): void {
    const { state, text } = connectionState({ ...this.#connection, now: Date.now() });
    if (this.banner.dataset.state !== state) this.banner.dataset.state = state;
    if (this.banner.textContent !== text) this.banner.textContent = text;
  }

  #render(): void {
    this.#renderBanner();
    render(this.#view(), this.main);
    this.#placeGrid();
    this.#renderNav();
  }

  #renderNav(): void {
    const current = this.#route.view === 'rollout' ? 'rollouts' : this.#route.view === 'host' || this.#route.view === 'project' ? 'fleet' : this.#route.view;
    for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a[data-view]')) {
      if (link.dataset.view === current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  #view(): TemplateResult {
    const route = this.#route;
    const now = Date.now();
    switch (route.view) {
      case 'fleet':
        return this.#fleet();
      case 'host': {
        this.#logs.forHost(route.hostId);
        const detail = this.#loaded.value as HostDetail | undefined;
        const live: DashboardHost | undefined = detail?.host;
        const fetched = detail?.events ?? [];
        const newest = fetched.length === 0 ? '' : fetched[fetched.length - 1]!.timestamp;
        const events = [...fetched, ...this.#liveEvents.filter((event) => event.hostId === route.hostId && event.timestamp > newest)];
        return hostView({ hostId: route.hostId, host: live, events, lastPlan: detail?.lastPlan ?? null, error: this.#loaded.error, logs: this.#logs, nowMs: now });
      }
      case 'project':
        return projectView({ project: route.project, detail: this.#loaded.value as ProjectDetail | undefined, error: this.#loaded.error });
      case 'rollouts':
        return rolloutsView([...this.#rollouts.values()], this.#loaded.error);
      case 'rollout':
        return rolloutView({
          id: route.id,
          rollout: this.#rollouts.get(route.id),
          actionsAllowed: this.#session?.actionsAllowed === true,
          actionMessage: this.#action.message,
          busy: this.#action.busy,
          error: this.#loaded.error,
          nowMs: now,
          onAction: (action) => this.#act(route.id, action),
        });
      case 'events': {
        const loaded = (this.#loaded.value as { events?: EventView[] } | undefined)?.events ?? [];
        const ids = new Set(loaded.map((event) => event.id));
        const live = this.#liveEvents.filter((event) => !ids.has(event.id) && eventMatches(event, route.filter));
        return eventsView({
          query: route.filter,
          events: [...loaded, ...live],
          error: this.#loaded.error,
          loading: this.#loaded.value === undefined && this.#loaded.error === undefined,
          onQuery: (next: EventsQuery) => {
            window.location.hash = routeHash({ view: 'events', filter: next });
          },
        });
      }
      case 'not-found':
        return html`<section aria-labelledby="missing-heading"><h1 id="missing-heading">Not found</h1><p>Nothing at ${route.hash}. <a href="#/">Back to the fleet</a></p></section>`;
    }
  }

  #fleet(): TemplateResult {
    this.#derived ??= { counts: fleetCounts(this.#rows), projects: fleetProjects(this.#rows) };
    this.#filtered ??= filterRows(this.#rows, this.#filter);
    const viewport = this.main.querySelector<HTMLElement>('.grid-viewport');
    const window_ = rowWindow({ scrollTop: viewport?.scrollTop ?? 0, viewportHeight: viewport?.clientHeight ?? 800, rowHeight: ROW_HEIGHT, total: this.#filtered.length });
    return fleetView({
      counts: this.#derived.counts,
      projects: this.#derived.projects,
      filter: this.#filter,
      shown: this.#filtered.length,
      total: this.#rows.length,
      window: window_,
      rows: this.#filtered.slice(window_.start, window_.end),
      onFilter: (change) => {
        this.#filter = { ...this.#filter, ...change };
        this.#filtered = undefined;
        this.schedule();
      },
      onScroll: () => this.schedule(),
    });
  }

  /** The grid's spacer holds the full height and its rows sit at the window's offset (CSSOM: the CSP forbids style attributes). */
  #placeGrid(): void {
    if (this.#route.view !== 'fleet' || this.#filtered === undefined) return;
    const spacer = this.main.querySelector<HTMLElement>('.grid-spacer');
    const rows = this.main.querySelector<HTMLElement>('.grid-rows');
    const viewport = this.main.querySelector<HTMLElement>('.grid-viewport');
    if (!spacer || !rows || !viewport) return;
    const window_ = rowWindow({ scrollTop: viewport.scrollTop, viewportHeight: viewport.clientHeight, rowHeight: ROW_HEIGHT, total: this.#filtered.length });
    spacer.style.height = `${window_.totalHeight}px`;
    rows.style.transform = `translateY(${window_.offsetTop}px)`;
  }

  #act(id: string, action: RolloutAction): void {
    this.#action = { busy: true, message: `${action}…` };
    this.schedule();
    postJson<{ rollout?: RolloutView }>(`/api/rollouts/${encodeURIComponent(id)}/${action}`).then(
      (answer) => {
        if (answer.rollout) this.#rollouts.set(answer.rollout.id, answer.rollout);
        this.#action = { busy: false, message: `${action}: done` };
        this.schedule();
      },
      (error: unknown) => {
        this.#action = { busy: false, message: `${action} refused: ${error instanceof Error ? error.message : String(error)}` };
        this.schedule();
      },
    );
  }
}

const banner = document.querySelector<HTMLElement>('[data-testid=connection]');
const main = document.querySelector<HTMLElement>('main');
if (banner && main) new DashboardApp(banner, main).start();
