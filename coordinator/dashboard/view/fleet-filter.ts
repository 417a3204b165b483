import type { HostRow } from './fleet-rows.js';

/** The fleet grid's filters as typed; an empty string lets everything through. */
export interface FleetFilter {
  /** `key=value` terms (or a bare `key`: the label is set), separated by commas or spaces; all must hold. */
  readonly label: string;
  readonly project: string;
  /** A cell state, or a host marker (stale, cordoned, draining, refused). */
  readonly state: string;
  /** A substring of the host id, any case. */
  readonly host: string;
}

export const NO_FILTER: FleetFilter = { label: '', project: '', state: '', host: '' };

interface LabelTerm {
  readonly key: string;
  readonly pair?: string;
}

export function parseLabelTerms(text: string): LabelTerm[] {
  return text
    .split(/[\s,]+/)
    .filter((term) => term !== '')
    .map((term) => {
      const at = term.indexOf('=');
      return at < 0 ? { key: term } : { key: term.slice(0, at), pair: term };
    });
}

/**
 * The rows the filter lets through, in their order. With a project and a state, the state is
 * that project's cell's (host markers stay host-wide); with a state alone, any cell's.
 */
export function filterRows(rows: readonly HostRow[], filter: FleetFilter): readonly HostRow[] {
  const terms = parseLabelTerms(filter.label);
  const host = filter.host.trim().toLowerCase();
  const { project, state } = filter;
  if (terms.length === 0 && host === '' && project === '' && state === '') return rows;
  return rows.filter((row) => {
    if (host !== '' && !row.searchId.includes(host)) return false;
    for (const term of terms) if (term.pair === undefined ? !row.labelKeys.has(term.key) : !row.labelPairs.has(term.pair)) return false;
    if (project !== '' && !row.stateByProject.has(project)) return false;
    if (state === '') return true;
    if (project !== '' && row.stateByProject.has(project) && !isHostMarker(state)) return row.stateByProject.get(project) === state;
    return row.states.has(state);
  });
}

function isHostMarker(state: string): boolean {
  return state === 'stale' || state === 'cordoned' || state === 'draining' || state === 'refused';
}
