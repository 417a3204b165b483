import { defineEntry, isMapping, type Path } from '../service-forms.js';

/** Rebuilds one node of the tree (a child, with its path). */
export type Rebuild = (node: unknown, path: Path) => unknown;

export interface TreeRebuild {
  /** What a scalar (string, number, boolean, null) becomes; kept as it is when omitted. */
  readonly scalar?: (node: unknown, path: Path) => unknown;
  /** Fills `into` from a mapping, rebuilding what it keeps with `rebuild`; every entry rebuilt when omitted. */
  readonly mapping?: (node: Readonly<Record<string, unknown>>, into: Record<string, unknown>, path: Path, rebuild: Rebuild) => void;
}

/**
 * A parsed YAML tree rebuilt bottom-up, each object once: a YAML alias is the same object in several
 * places, so it is rebuilt once and shared in the result (an alias bomb stays as small as its text).
 * Keys are defined as own data properties, so `__proto__` stays a key.
 */
export function rebuildTree(root: unknown, at: Path, how: TreeRebuild): unknown {
  const done = new Map<object, unknown>();
  const rebuild: Rebuild = (node, path) => {
    if (node === null || typeof node !== 'object') return how.scalar ? how.scalar(node, path) : node;
    const seen = done.get(node);
    if (seen !== undefined) return seen;
    if (Array.isArray(node)) {
      const list: unknown[] = [];
      done.set(node, list);
      for (const [index, item] of node.entries()) list.push(rebuild(item, [...path, index]));
      return list;
    }
    if (!isMapping(node)) return node;
    const mapping: Record<string, unknown> = {};
    done.set(node, mapping);
    if (how.mapping) how.mapping(node, mapping, path, rebuild);
    else for (const [key, item] of Object.entries(node)) defineEntry(mapping, key, rebuild(item, [...path, key]));
    return mapping;
  };
  return rebuild(root, at);
}
