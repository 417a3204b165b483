import { defineEntry, isMapping, type FormProblem } from '../service-forms.js';
import { rebuildTree } from './rebuild-tree.js';

/**
 * YAML's merge key, which compose files use with anchors (`<<: *defaults`, `<<: [*a, *b]`): the
 * mapping gets the merged mappings' entries it does not set itself, the first merged one winning.
 * Each mapping is resolved once, so an alias used many times costs its size once.
 */
export function resolveMergeKeys(value: unknown): { value: unknown; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const merged = rebuildTree(value, [], {
    mapping: (node, mapping, path, rebuild) => {
      for (const [key, item] of Object.entries(node)) if (key !== '<<') defineEntry(mapping, key, rebuild(item, [...path, key]));
      if (!Object.hasOwn(node, '<<')) return;
      const sources = Array.isArray(node['<<']) ? node['<<'] : [node['<<']];
      for (const source of sources) {
        const resolved = rebuild(source, [...path, '<<']);
        if (!isMapping(resolved)) {
          problems.push({ path, key: '<<', message: 'a merge key (<<) takes a mapping or a list of mappings, such as *defaults' });
          continue;
        }
        for (const [key, item] of Object.entries(resolved)) if (!Object.hasOwn(mapping, key)) defineEntry(mapping, key, item);
      }
    },
  });
  return { value: merged, problems };
}
