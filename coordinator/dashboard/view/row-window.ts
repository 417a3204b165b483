/** Which rows of a long list of fixed-height rows are in view, and where they sit. */
export interface RowWindow {
  /** First row rendered (inclusive). */
  readonly start: number;
  /** Row after the last rendered (exclusive). */
  readonly end: number;
  /** Offset of the first rendered row from the top of the list, in pixels. */
  readonly offsetTop: number;
  /** Height of the whole list, in pixels. */
  readonly totalHeight: number;
}

export interface WindowInput {
  readonly scrollTop: number;
  readonly viewportHeight: number;
  readonly rowHeight: number;
  readonly total: number;
  /** Rows rendered beyond each edge of the view, so a scroll shows no gap before the next render. */
  readonly overscan?: number;
}

export function rowWindow({ scrollTop, viewportHeight, rowHeight, total, overscan = 5 }: WindowInput): RowWindow {
  const totalHeight = total * rowHeight;
  if (total === 0 || rowHeight <= 0) return { start: 0, end: 0, offsetTop: 0, totalHeight: Math.max(0, totalHeight) };
  // A scroll position beyond the list (it just got shorter) shows its last rows.
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, totalHeight - viewportHeight));
  const start = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const end = Math.min(total, Math.ceil((top + Math.max(0, viewportHeight)) / rowHeight) + overscan);
  return { start, end, offsetTop: start * rowHeight, totalHeight };
}
