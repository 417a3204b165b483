import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { importCycles, importsOf, readImportGraph } from '../lib/import-graph.js';

// dist/test/unit/ -> the repository, where the TypeScript sources are.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the CLI has no import cycle', () => {
  it('no file under coordinator/cli/ imports itself through others, not even by a type or a lazy import', () => {
    const graph = readImportGraph(ROOT, ['coordinator/cli']);
    // The reader sees every kind of import the CLI makes: an empty graph must not pass.
    for (const kind of ['static', 'type', 'dynamic'] as const) assert.ok(graph.edges.some((edge) => edge.kind === kind && edge.from.startsWith('coordinator/cli/')), `no ${kind} import read`);
    assert.ok(graph.edges.some((edge) => edge.from === 'coordinator/cli/main.ts'), 'main.ts imports nothing');
    const cycles = importCycles(graph).filter((cycle) => cycle.files.some((file) => file.startsWith('coordinator/cli/')));
    assert.deepEqual(cycles.map((cycle) => `${cycle.files.join(', ')} (${cycle.path.join(' -> ')})`), []);
  });

  it('reads static, type-only, re-exported and lazy imports, and leaves packages out', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "import { type C, type D } from './c.js';",
      "import { e, type E } from './e.js';",
      'import {\n  f,\n  g,\n} from "./f.js";',
      "export { h } from './h.js';",
      "import './side-effect.js';",
      "import { pino } from 'pino';",
      "const { run } = await import('./run.js');",
      "const note = 'pass --from ./x.js';",
    ].join('\n');
    assert.deepEqual(importsOf(source), [
      { specifier: './a.js', kind: 'static' },
      { specifier: '../b.js', kind: 'type' },
      { specifier: './c.js', kind: 'type' },
      { specifier: './e.js', kind: 'static' },
      { specifier: './f.js', kind: 'static' },
      { specifier: './h.js', kind: 'static' },
      { specifier: './side-effect.js', kind: 'static' },
      { specifier: './run.js', kind: 'dynamic' },
    ]);
  });

  it('finds a cycle of two, a longer one and a file importing itself, and none in a chain', () => {
    const edge = (from: string, to: string) => ({ from, to, kind: 'static' as const });
    const graph = {
      files: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
      edges: [edge('a', 'b'), edge('b', 'a'), edge('c', 'd'), edge('d', 'e'), edge('e', 'c'), edge('f', 'f'), edge('g', 'h'), edge('b', 'g')],
    };
    assert.deepEqual(importCycles(graph), [
      { files: ['a', 'b'], path: ['a', 'b', 'a'] },
      { files: ['c', 'd', 'e'], path: ['c', 'd', 'e', 'c'] },
      { files: ['f'], path: ['f', 'f'] },
    ]);
    assert.deepEqual(importCycles({ files: ['g', 'h'], edges: [edge('g', 'h')] }), []);
  });
});
