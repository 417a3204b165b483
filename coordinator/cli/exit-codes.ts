/** Exit codes scripts can rely on (documented in the README). */
export const EXIT = {
  ok: 0,
  /** Bad input, an unreachable runtime, or a failed action. */
  error: 1,
  /** `plan --detailed-exitcode`: the plan has changes. */
  changes: 2,
  /** `agent`: this Node.js is older than Hostwright supports; the agent did not start (not worth a restart). */
  unsupportedNode: 2,
  /** `dashboard`: the page is not built (no dashboard/index.html); nothing was started. */
  dashboardAssetsMissing: 2,
  /** `apply`: a safety gate blocked the plan; nothing of the blocked project ran. `plan`: a gate would block it. */
  blocked: 3,
  /** Any fleet command: a stream or bucket of the fleet is not configured as Hostwright relies on; the command did nothing. */
  fleetStorageTampered: 4,
  /** The reader of the output went away (`hostwright events | head -1`): 128 + SIGPIPE, as a shell reports `git log | head -1`. */
  closedPipe: 141,
} as const;
