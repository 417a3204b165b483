/** Every event type. Kept apart from the zod schemas so that the CLI can list them in `--help` without loading zod. */
export const EVENT_TYPES = ['planned', 'applied', 'failed', 'health_changed', 'drift_detected', 'restarted', 'cleaned', 'exec'] as const;
