/** Help of `--as`, the name a writing command records as the author of its desired writes (shared/desired-author.ts). */
export const AS_HELP = 'the name recorded as the author of the desired-state writes, beside the signing key and the NATS user (default: $USER)';
