import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { readImportGraph } from '../lib/import-graph.js';

// dist/test/unit/ -> the repository, where eslint.config.js and the TypeScript sources are.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The no-restricted-imports messages the repository's lint config gives a source at `path`. */
async function restrictedImports(path: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: join(ROOT, 'eslint.config.js') });
  const [result] = await eslint.lintText(source, { filePath: join(ROOT, path) });
  assert.ok(result, 'eslint linted nothing');
  return result.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('the coordinator is a library the CLI renders: coordinator/ outside cli/ never imports cli/', () => {
  it('the lint rule fires on an import of cli/ from coordinator/ and from a folder under it', async () => {
    const top = await restrictedImports('coordinator/layering-probe.ts', "import { modeOf } from './cli/options.js';\nexport const probe = modeOf;\n");
    assert.equal(top.length, 1, top.join('\n'));
    assert.match(top[0] ?? '', /must not import coordinator\/cli\//);
    const nested = await restrictedImports('coordinator/operations/layering-probe.ts', "import type { FleetTarget } from '../cli/options.js';\nexport type Probe = FleetTarget;\n");
    assert.equal(nested.length, 1, nested.join('\n'));
  });

  it('the lint rule lets the CLI import the coordinator, and the coordinator import itself', async () => {
    assert.deepEqual(await restrictedImports('coordinator/cli/commands/layering-probe.ts', "import { withFleet } from '../../fleet-session.js';\nimport { EXIT } from '../exit-codes.js';\nexport const probe = [withFleet, EXIT];\n"), []);
    assert.deepEqual(await restrictedImports('coordinator/operations/layering-probe.ts', "import { withFleet } from '../fleet-session.js';\nexport const probe = withFleet;\n"), []);
  });

  it('no source under coordinator/ outside cli/ reaches coordinator/cli/, not even by a lazy import (which the lint rule does not see)', () => {
    const graph = readImportGraph(ROOT, ['coordinator']);
    assert.ok(graph.edges.some((edge) => edge.from.startsWith('coordinator/operations/')), 'no import of coordinator/operations/ read');
    const upward = graph.edges.filter((edge) => edge.from.startsWith('coordinator/') && !edge.from.startsWith('coordinator/cli/') && edge.to.startsWith('coordinator/cli/'));
    assert.deepEqual(upward.map((edge) => `${edge.from} -> ${edge.to} (${edge.kind})`), []);
  });
});
