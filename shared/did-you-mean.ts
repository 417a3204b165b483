// "Did you mean": the known name closest to a mistyped one (a key in a file, a host id), so an
// error can point at the likely fix instead of only listing everything that is allowed.

import { compareStrings } from './compare.js';

/**
 * Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`: the optimal
 * string alignment distance. Case-insensitive, since `Image` for `image` is one mistake, not five.
 */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  // Rows i-2, i-1 and i of the dynamic-programming table.
  let before: number[] = [];
  let previous = Array.from({ length: right.length + 1 }, (_, j) => j);
  for (let i = 1; i <= left.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= right.length; j += 1) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1]) best = Math.min(best, (before[j - 2] as number) + 1);
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[right.length] as number;
}

/** How far a candidate may be from the input and still count as meant: about one edit in three characters. */
function maxDistance(input: string): number {
  return Math.max(1, Math.floor(input.length / 3));
}

/**
 * The candidate the input most likely meant, or undefined when none is close enough. Ties go to the
 * first candidate in code-unit order, so the same input always gives the same suggestion.
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of [...new Set(candidates)].sort(compareStrings)) {
    if (candidate === input) continue;
    const distance = editDistance(input, candidate);
    if (distance > maxDistance(input) || distance >= Math.max(input.length, candidate.length)) continue;
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  return best?.candidate;
}

/** `; did you mean "X"?` for a message's end, or '' when no candidate is close. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const suggestion = closest(input, candidates);
  return suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`;
}
