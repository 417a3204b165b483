import { defineEntry, isMapping } from '../service-forms.js';

// Several compose files merge as compose merges them (compose.yaml, then compose.override.yaml):
// mappings key by key, a later scalar wins, lists append; command, entrypoint and healthcheck.test
// are replaced whole; ports and volumes are unique by what they bind (a later entry for the same
// container target replaces the earlier one). Lists that compose treats as mappings (environment,
// labels, sysctls, depends_on …) are made mappings first, so they merge by name.

/** Service keys whose list form is a mapping in disguise ("A=1", or a list of names). */
const LIST_AS_MAPPING = new Set(['environment', 'labels', 'sysctls', 'annotations']);
const REPLACED = new Set(['command', 'entrypoint']);
const UNIQUE_BY: Readonly<Record<string, (entry: unknown) => string>> = { ports: portKey, volumes: volumeKey, secrets: targetKey, configs: targetKey };

/** A service with its mapping-like lists written as mappings (so that files merge by name). */
export function mappingForms(service: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(service)) {
    if (LIST_AS_MAPPING.has(key) && Array.isArray(value)) defineEntry(out, key, listAsMapping(value));
    else if (key === 'depends_on' && Array.isArray(value)) defineEntry(out, key, Object.fromEntries(value.filter((name) => typeof name === 'string' && name !== '__proto__').map((name) => [name, { condition: 'service_started' }])));
    else defineEntry(out, key, value);
  }
  return out;
}

function listAsMapping(list: readonly unknown[]): unknown {
  const mapping: Record<string, unknown> = {};
  for (const entry of list) {
    // Anything but "NAME[=value]" stays a list, for the schema to point at.
    if (typeof entry !== 'string' && typeof entry !== 'number') return list;
    const text = String(entry);
    const equals = text.indexOf('=');
    const name = equals < 0 ? text : text.slice(0, equals);
    if (name === '' || name === '__proto__') return list;
    defineEntry(mapping, name, equals < 0 ? null : text.slice(equals + 1));
  }
  return mapping;
}

/** `override` merged onto `base`, both whole compose files. */
export function mergeComposeFiles(base: Readonly<Record<string, unknown>>, override: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    if (key === 'services' && isMapping(current) && isMapping(value)) {
      const services: Record<string, unknown> = { ...current };
      for (const [name, service] of Object.entries(value)) {
        const existing = Object.hasOwn(services, name) ? services[name] : undefined;
        defineEntry(services, name, isMapping(existing) && isMapping(service) ? mergeService(existing, service) : service);
      }
      defineEntry(out, key, services);
    } else {
      defineEntry(out, key, mergeValue(current, value));
    }
  }
  return out;
}

export function mergeService(base: Readonly<Record<string, unknown>>, override: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    if (REPLACED.has(key)) defineEntry(out, key, value);
    else if (key === 'healthcheck' && isMapping(current) && isMapping(value)) defineEntry(out, key, { ...current, ...value });
    else if (Object.hasOwn(UNIQUE_BY, key) && Array.isArray(current) && Array.isArray(value)) defineEntry(out, key, mergeUnique(current, value, UNIQUE_BY[key] as (entry: unknown) => string));
    else defineEntry(out, key, mergeValue(current, value));
  }
  return out;
}

function mergeValue(base: unknown, override: unknown): unknown {
  if (isMapping(base) && isMapping(override)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) defineEntry(out, key, mergeValue(Object.hasOwn(out, key) ? out[key] : undefined, value));
    return out;
  }
  if (Array.isArray(base) && Array.isArray(override)) {
    // Appended; a plain value given in both files is kept once (dns, cap_add …).
    const seen = new Set(base.filter((item) => typeof item !== 'object' || item === null).map((item) => JSON.stringify(item)));
    return [...base, ...override.filter((item) => typeof item === 'object' && item !== null ? true : !seen.has(JSON.stringify(item)))];
  }
  return override === undefined ? base : override;
}

function mergeUnique(base: readonly unknown[], override: readonly unknown[], keyOf: (entry: unknown) => string): unknown[] {
  const out = [...base];
  for (const entry of override) {
    const key = keyOf(entry);
    const index = out.findIndex((existing) => keyOf(existing) === key);
    if (index < 0) out.push(entry);
    else out[index] = isMapping(out[index]) && isMapping(entry) ? { ...(out[index] as Record<string, unknown>), ...entry } : entry;
  }
  return out;
}

/** A port's identity: {ip, target, published, protocol}, whichever syntax wrote it. */
function portKey(entry: unknown): string {
  if (isMapping(entry)) return [entry.host_ip ?? '', entry.published ?? '', entry.target ?? '', entry.protocol ?? 'tcp'].map(String).join('|');
  const text = String(entry);
  const [mapping = '', protocol = 'tcp'] = text.split('/');
  const parts = mapping.split(':');
  const target = parts.pop() ?? '';
  const published = parts.pop() ?? '';
  return [parts.join(':'), published, target, protocol].join('|');
}

/** A volume's identity: its target in the container. */
function volumeKey(entry: unknown): string {
  if (isMapping(entry)) return String(entry.target ?? '');
  const parts = String(entry).split(':');
  return parts.length === 1 ? (parts[0] ?? '') : (parts[1] ?? '');
}

function targetKey(entry: unknown): string {
  if (isMapping(entry)) return String(entry.target ?? entry.source ?? '');
  return String(entry);
}
