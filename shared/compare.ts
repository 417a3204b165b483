// The one string order Hostwright sorts by: plans, diffs, snapshots and listings come out the same on every machine.

/**
 * Orders strings by UTF-16 code unit, as `<` does: never by the locale, so the same input gives the
 * same bytes everywhere (the planner's output depends on it). Usable directly as a sort comparator.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
