import { defineEntry, isMapping, type FormProblem, type Path } from '../service-forms.js';

/**
 * YAML's merge key, which compose files use with anchors (`<<: *defaults`, `<<: [*a, *b]`): the
 * mapping gets the merged mappings' entries it does not set itself, the first merged one winning.
 * Each mapping is resolved once, so an alias used many times costs its size once.
 */
export function resolveMergeKeys(value: unknown): { value: unknown; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const done = new Map<object, unknown>();
  const walk = (node: unknown, path: Path): unknown => {
    if (node === null || typeof node !== 'object') return node;
    const seen = done.get(node);
    if (seen !== undefined) return seen;
    if (Array.isArray(node)) {
      const list: unknown[] = [];
      done.set(node, list);
      for (const [index, item] of node.entries()) list.push(walk(item, [...path, index]));
      return list;
    }
    if (!isMapping(node)) return node;
    const mapping: Record<string, unknown> = {};
    done.set(node, mapping);
    for (const [key, item] of Object.entries(node)) if (key !== '<<') defineEntry(mapping, key, walk(item, [...path, key]));
    if (Object.hasOwn(node, '<<')) {
      const sources = Array.isArray(node['<<']) ? node['<<'] : [node['<<']];
      for (const source of sources) {
        const resolved = walk(source, [...path, '<<']);
        if (!isMapping(resolved)) {
          problems.push({ path, key: '<<', message: 'a merge key (<<) takes a mapping or a list of mappings, such as *defaults' });
          continue;
        }
        for (const [key, item] of Object.entries(resolved)) if (!Object.hasOwn(mapping, key)) defineEntry(mapping, key, item);
      }
    }
    return mapping;
  };
  return { value: walk(value, []), problems };
}
