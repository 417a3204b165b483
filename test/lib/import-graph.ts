import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export type ImportKind = 'static' | 'type' | 'dynamic';

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: ImportKind;
}

/** The repository's TypeScript import graph, read from the sources: file paths relative to the root. */
export interface ImportGraph {
  readonly files: readonly string[];
  readonly edges: readonly ImportEdge[];
}

// `import … from '…'`, `import type … from '…'`, `export … from '…'`, `import '…'`, `import('…')`.
const FROM = /^\s*(import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The relative imports of one TypeScript source, each with how it is made; packages and built-ins are left out. */
export function importsOf(source: string): { specifier: string; kind: ImportKind }[] {
  const found: { specifier: string; kind: ImportKind }[] = [];
  for (const match of source.matchAll(FROM)) {
    const specifier = match[3] ?? '';
    // `import { type A, type B }` is a type import too: it leaves nothing in the emitted JavaScript.
    const typeOnly = match[2] !== undefined || /^\s*import\s*\{(\s*type\s+[^,}]+,?)+\s*\}/.test(match[0]);
    if (specifier.startsWith('.')) found.push({ specifier, kind: typeOnly ? 'type' : 'static' });
  }
  for (const match of source.matchAll(DYNAMIC)) {
    const specifier = match[1] ?? '';
    if (specifier.startsWith('.')) found.push({ specifier, kind: 'dynamic' });
  }
  return found;
}

/**
 * Every TypeScript source under `roots` (relative to `root`) and every source they reach through
 * relative imports, wherever it is. A relative import that names no source is an error: the reader missed it.
 */
export function readImportGraph(root: string, roots: readonly string[]): ImportGraph {
  const files = new Set<string>();
  const edges: ImportEdge[] = [];
  const pending = roots.flatMap((dir) => sourcesUnder(join(root, dir)).map((path) => relative(root, path)));
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const { specifier, kind } of importsOf(readFileSync(join(root, file), 'utf8'))) {
      const target = resolve(root, dirname(file), specifier.replace(/\.js$/, '.ts'));
      if (!existsSync(target)) throw new Error(`${file}: import ${specifier} names no source (${relative(root, target)})`);
      const to = relative(root, target);
      edges.push({ from: file, to, kind });
      pending.push(to);
    }
  }
  return { files: [...files].sort(), edges };
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Files that reach each other through their imports, and one way round among them. */
export interface ImportCycle {
  readonly files: readonly string[];
  readonly path: readonly string[];
}

/**
 * The import cycles of a graph: each strongly connected component of more than one file (or a file
 * importing itself), sorted. Type imports count: a cycle of types still ties two files together.
 */
export function importCycles(graph: ImportGraph): ImportCycle[] {
  const next = new Map<string, string[]>();
  for (const { from, to } of graph.edges) next.set(from, [...(next.get(from) ?? []), to]);
  const components = stronglyConnected(graph.files, (file) => next.get(file) ?? []);
  return components
    .filter((component) => component.length > 1 || (next.get(component[0] as string) ?? []).includes(component[0] as string))
    .map((component) => ({ files: component, path: cycleThrough(component, next) }))
    .sort((a, b) => (a.files.join() < b.files.join() ? -1 : 1));
}

/** Tarjan's algorithm, iterative: deep import chains never overflow the stack. */
function stronglyConnected(nodes: readonly string[], successors: (node: string) => readonly string[]): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter);
    counter += 1;
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; next: number };
      const targets = successors(frame.node);
      if (frame.next < targets.length) {
        const target = targets[frame.next] as string;
        frame.next += 1;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter);
          counter += 1;
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(target) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        for (;;) {
          const member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
          if (member === frame.node) break;
        }
        components.push(component.sort());
      }
    }
  }
  return components;
}

/** A shortest way from the component's first file back to itself, staying inside the component. */
function cycleThrough(component: readonly string[], next: ReadonlyMap<string, readonly string[]>): string[] {
  const inside = new Set(component);
  const start = component[0] as string;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const target of next.get(node) ?? []) {
      if (!inside.has(target)) continue;
      if (target === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}
