import { html, type TemplateResult } from 'lit-html';
import type { LogLine } from '../view/dashboard-types.js';
import { keepLast } from '../view/event-match.js';
import { query } from './api.js';

/** One instance the panel can show: its project, service and number, as /api/logs takes them. */
export interface LogTarget {
  readonly name: string;
  readonly project: string;
  readonly service: string;
  readonly instance: number;
}

/** Lines kept on the page: a chatty instance must not grow it without end. */
const MAX_LINES = 1000;
/** Typing in the filter box reopens the stream once it pauses, not at every key. */
const FILTER_DELAY_MS = 300;

/**
 * The logs of one instance of a host: an EventSource on /api/logs (the last 200 lines, then
 * following), filtered by the server (`grep`), with a link that downloads the same lines.
 */
export class LogsPanel {
  #hostId = '';
  #target: LogTarget | undefined;
  #filter = '';
  #lines: LogLine[] = [];
  #status = 'Choose an instance to see its logs.';
  #source: EventSource | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly changed: () => void) {}

  /** Shows the host's logs panel; a different host starts over. */
  forHost(hostId: string): void {
    if (hostId === this.#hostId) return;
    this.close();
    this.#hostId = hostId;
    this.#target = undefined;
    this.#filter = '';
    this.#lines = [];
    this.#status = 'Choose an instance to see its logs.';
  }

  close(): void {
    this.#source?.close();
    this.#source = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  view(targets: readonly LogTarget[]): TemplateResult {
    const selected = this.#target === undefined ? '' : this.#target.name;
    return html`<section class="logs" aria-labelledby="logs-heading">
      <h2 id="logs-heading">Logs</h2>
      <div class="logs-controls">
        <label
          >Instance
          <select data-testid="logs-instance" .value=${selected} @change=${(event: Event) => this.#select(targets, (event.target as HTMLSelectElement).value)}>
            <option value="">Choose an instance</option>
            ${targets.map((target) => html`<option value=${target.name} ?selected=${target.name === selected}>${target.name}</option>`)}
          </select></label
        >
        <label>Filter <input data-testid="logs-filter" type="search" placeholder="text the lines contain" .value=${this.#filter} @input=${(event: Event) => this.#filterInput((event.target as HTMLInputElement).value)} /></label>
        ${this.#target === undefined ? null : html`<a data-testid="logs-download" href=${this.#url(false)} download=${`${this.#target.name}.log`}>Download</a>`}
      </div>
      <p class="logs-status" role="status">${this.#status}</p>
      <pre class="logs-lines" data-testid="logs" role="log" tabindex="0" aria-label="Log lines">${this.#lines.map(
        (line) => html`<span class=${`log-line stream-${line.stream}`} data-testid="log-line">${line.at} ${line.text}\n</span>`,
      )}</pre>
    </section>`;
  }

  #select(targets: readonly LogTarget[], name: string): void {
    this.#target = targets.find((target) => target.name === name);
    this.#open();
  }

  #filterInput(text: string): void {
    this.#filter = text;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#open(), FILTER_DELAY_MS);
  }

  #url(follow: boolean): string {
    const target = this.#target;
    if (target === undefined) return '';
    const common = { host: this.#hostId, project: target.project, service: target.service, instance: target.instance, tail: 200, grep: this.#filter };
    return `/api/logs${query(follow ? { ...common, follow: 1 } : { ...common, download: 1 })}`;
  }

  #open(): void {
    this.close();
    this.#lines = [];
    if (this.#target === undefined) {
      this.#status = 'Choose an instance to see its logs.';
      this.changed();
      return;
    }
    this.#status = `Following ${this.#target.name}${this.#filter === '' ? '' : `, lines containing "${this.#filter}"`}`;
    const source = new EventSource(this.#url(true));
    this.#source = source;
    source.addEventListener('line', (message) => {
      const line = parseLine((message as MessageEvent<string>).data);
      if (line === undefined) return;
      this.#lines = keepLast(this.#lines, [line], MAX_LINES);
      this.changed();
    });
    source.addEventListener('end', () => {
      this.#status = `End of the logs of ${this.#target?.name ?? 'the instance'}`;
      source.close();
      this.changed();
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) this.#status = 'The logs stream failed; choose the instance again to retry.';
      this.changed();
    });
    this.changed();
  }
}

function parseLine(data: string): LogLine | undefined {
  try {
    const value = JSON.parse(data) as Partial<LogLine>;
    return typeof value.text === 'string' ? { at: String(value.at ?? ''), stream: String(value.stream ?? 'stdout'), text: value.text, instance: value.instance ?? '' } : undefined;
  } catch {
    return undefined;
  }
}
