/**
 * What a chaos scenario counted, written as JSON under the results dir (HW_CHAOS_RESULTS, default
 * ./chaos-results) so render-chaos-results.ts can print the table of a whole run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  repeats: number;
  faults: number;
  eventsRecorded: number;
  eventsInStream: number;
  eventsLost: number;
  eventsDuplicated: number;
  containersExpected: number;
  containersFound: number;
  containersMissing: number;
  containersDuplicate: number;
  containersOrphan: number;
  /** Time from the end of each fault (heal, restart) to a converged fleet. */
  convergeMs: number[];
  notes: string[];
  finishedAt?: string;
}

export interface EventCount {
  readonly recorded: number;
  readonly inStream: number;
  readonly lost: number;
  readonly duplicated: number;
}

export interface ContainerCount {
  readonly expected: number;
  readonly found: number;
  readonly missing: number;
  readonly duplicate: number;
  readonly orphan: number;
}

export function resultsDir(): string {
  return process.env.HW_CHAOS_RESULTS ?? join(process.cwd(), 'chaos-results');
}

/** How many times each scenario repeats its fault (HW_CHAOS_REPEATS); longer runs pass a bigger number. */
export function repeatCount(fallback = 2): number {
  const value = Number(process.env.HW_CHAOS_REPEATS ?? fallback);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

export class ScenarioTally {
  readonly result: ScenarioResult;

  constructor(scenario: string, title: string) {
    this.result = { scenario, title, repeats: 0, faults: 0, eventsRecorded: 0, eventsInStream: 0, eventsLost: 0, eventsDuplicated: 0, containersExpected: 0, containersFound: 0, containersMissing: 0, containersDuplicate: 0, containersOrphan: 0, convergeMs: [], notes: [] };
  }

  repeat(): void {
    this.result.repeats += 1;
  }

  fault(count = 1): void {
    this.result.faults += count;
  }

  converged(ms: number): void {
    this.result.convergeMs.push(Math.round(ms));
  }

  events(count: EventCount): void {
    this.result.eventsRecorded += count.recorded;
    this.result.eventsInStream += count.inStream;
    this.result.eventsLost += count.lost;
    this.result.eventsDuplicated += count.duplicated;
  }

  containers(count: ContainerCount): void {
    this.result.containersExpected += count.expected;
    this.result.containersFound += count.found;
    this.result.containersMissing += count.missing;
    this.result.containersDuplicate += count.duplicate;
    this.result.containersOrphan += count.orphan;
  }

  note(text: string): void {
    this.result.notes.push(text);
  }

  /** Written even when the scenario failed half-way: the table shows how far it got. */
  async write(): Promise<void> {
    const dir = resultsDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${this.result.scenario}.json`), `${JSON.stringify({ ...this.result, finishedAt: new Date().toISOString() }, null, 2)}\n`);
  }
}
