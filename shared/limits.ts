/**
 * Every size Hostwright accepts in a fleet file and a desired document, in one place. Each is far
 * above what a real service uses (a real command line has fewer than 1,000 arguments) and low
 * enough that no input can make a coordinator or an agent spend minutes or gigabytes on it.
 * The schemas in fleet-spec.ts and host-desired.ts use these; docs/fleet-file.md, "Limits", lists them.
 */

/** A fleet file, in bytes, checked before it is parsed, and again once its YAML aliases are expanded. */
export const MAX_FLEET_FILE_BYTES = 8 * 1024 * 1024;
/** Mappings and lists nested in each other (a fleet file needs 5: services.web.healthcheck.test). */
export const MAX_YAML_NESTING = 64;
/**
 * Values, list items and mapping entries in a fleet file's YAML (a typical service has about 25):
 * the YAML parser holds up to a kilobyte per value while it reads, so this bounds its memory.
 */
export const MAX_YAML_NODES = 500_000;

/** Services in one project. */
export const MAX_SERVICES = 20_000;
/** Instances of one service on each host it runs on. */
export const MAX_REPLICAS = 1000;
/** Instances of one project on one host (the sum of its services' replicas there). */
export const MAX_INSTANCES_PER_HOST = 20_000;

/** Elements of `command` and of `healthcheck.test`. */
export const MAX_COMMAND_ARGS = 4096;
/** Characters of one command argument or env value: Linux refuses a longer one (MAX_ARG_STRLEN, 128 KiB). */
export const MAX_ARG_LENGTH = 128 * 1024;
/** Entries of `env`. */
export const MAX_ENV_ENTRIES = 4096;
/** Entries of `labels` and of a placement `selector`. */
export const MAX_LABELS = 1000;
/** Characters of a label value. */
export const MAX_LABEL_VALUE_LENGTH = 64 * 1024;
/** Characters of an env name, a label key or a selector key. */
export const MAX_KEY_LENGTH = 1024;
/** Entries of `ports` and of `volumes`. */
export const MAX_PORTS = 1000;
export const MAX_VOLUMES = 1000;
/** Characters of a volume ("source:/target:ro"; a Linux path is at most 4096). */
export const MAX_VOLUME_LENGTH = 8200;
/** Characters of a path (a secret file). */
export const MAX_PATH_LENGTH = 4096;
/** Characters of an image reference (Docker's: a 255-character name, a 128-character tag, a digest). */
export const MAX_IMAGE_LENGTH = 512;
/** Host ids a placement may list. */
export const MAX_PLACEMENT_HOSTS = 10_000;
/** Characters of a duration ("500ms", "1.5h"); its value is at most a day. */
export const MAX_DURATION_LENGTH = 32;
export const MAX_DURATION_MS = 24 * 60 * 60 * 1000;
/** Characters of a correlation id (a UUID has 36). */
export const MAX_CORRELATION_ID_LENGTH = 256;

/**
 * An agent's heartbeat period (`--heartbeat`, a registration's heartbeatMs): a host reads stale after
 * three missed beats, so a host that stops is STALE within 15 min at most, whatever it announced.
 */
export const MIN_HEARTBEAT_MS = 1_000;
export const MAX_HEARTBEAT_MS = 5 * 60_000;
