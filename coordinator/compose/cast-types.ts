import type { Path } from '../service-forms.js';
import { rebuildTree } from './rebuild-tree.js';

// Interpolation gives text: `read_only: ${RO}` is the string "false". compose casts such values
// where the Compose Specification wants a boolean or a number, at these paths, and so does this.

const BOOLEAN_PATHS: readonly (readonly string[])[] = [
  ...['read_only', 'tty', 'stdin_open', 'privileged', 'init', 'oom_kill_disable'].map((key) => ['services', '*', key]),
  ['services', '*', 'healthcheck', 'disable'],
  ['services', '*', 'depends_on', '*', 'required'],
  ['services', '*', 'depends_on', '*', 'restart'],
  ['services', '*', 'env_file', '*', 'required'],
  ['services', '*', 'volumes', '*', 'read_only'],
  ['services', '*', 'volumes', '*', 'bind', 'create_host_path'],
  ['services', '*', 'volumes', '*', 'volume', 'nocopy'],
  ...['external', 'internal', 'attachable', 'enable_ipv6'].map((key) => ['networks', '*', key]),
  ['volumes', '*', 'external'],
];

const NUMBER_PATHS: readonly (readonly string[])[] = [
  ...['scale', 'cpu_shares', 'pids_limit', 'cpus'].map((key) => ['services', '*', key]),
  ['services', '*', 'deploy', 'replicas'],
  ['services', '*', 'deploy', 'restart_policy', 'max_attempts'],
  ['services', '*', 'healthcheck', 'retries'],
  ['services', '*', 'ports', '*', 'target'],
  ['services', '*', 'ports', '*', 'published'],
  ['services', '*', 'ulimits', '*'],
  ['services', '*', 'ulimits', '*', 'soft'],
  ['services', '*', 'ulimits', '*', 'hard'],
];

const TRUE = new Set(['y', 'yes', 'true', 'on']);
const FALSE = new Set(['n', 'no', 'false', 'off']);

/** The file with interpolated text cast where a boolean or number is wanted; anything else as it is. */
export function castTypes(value: unknown): unknown {
  // One walk that keeps YAML aliases shared (a mapping used in many places is rebuilt once).
  return rebuildTree(value, [], { scalar: (node, path) => (typeof node === 'string' ? cast(node, path) : node) });
}

function cast(text: string, path: Path): unknown {
  if (BOOLEAN_PATHS.some((pattern) => matches(pattern, path))) {
    const lower = text.trim().toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    return text;
  }
  if (NUMBER_PATHS.some((pattern) => matches(pattern, path)) && /^\s*-?\d+(\.\d+)?\s*$/.test(text)) return Number(text);
  return text;
}

function matches(pattern: readonly string[], path: Path): boolean {
  return pattern.length === path.length && pattern.every((segment, index) => segment === '*' || segment === String(path[index]));
}
