import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConverted } from '../../coordinator/cli/commands/convert/convert-run.js';
import { loadWorkload } from '../../coordinator/workload-file.js';
import { InvalidInputError } from '../../shared/errors.js';
import { runCli } from '../lib/cli.js';

// Real-world-shaped compose files, each with the golden output of `hostwright convert` (or of its
// error). HW_UPDATE_GOLDEN=1 rewrites the goldens from what the reader gives now.

const CORPUS = fileURLToPath(new URL('../../../test/compose-corpus/', import.meta.url));
const UPDATE = process.env.HW_UPDATE_GOLDEN === '1';

/** Converted text, or `error: <message>`, with the corpus directory (which differs per checkout) as <dir>. */
async function convertedText(directory: string): Promise<{ text: string; failed: boolean }> {
  const environment = { HOME: '/home/user' };
  try {
    const workload = await loadWorkload({ files: [directory], profiles: [], ignoreUnsupported: [] }, environment);
    return { text: renderConverted(workload).replaceAll(directory, '<dir>'), failed: false };
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return { text: `error: ${error.message}\n`.replaceAll(directory, '<dir>'), failed: true };
  }
}

const entries = readdirSync(CORPUS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('the compose corpus', () => {
  it('holds at least 30 compose apps', () => {
    assert.ok(entries.length >= 30, `${entries.length} apps`);
  });

  for (const name of entries) {
    it(`${name}: convert gives its golden output`, async () => {
      const directory = join(CORPUS, name);
      const golden = join(directory, 'convert.golden');
      const { text } = await convertedText(directory + '/');
      if (UPDATE) writeFileSync(golden, text);
      assert.ok(existsSync(golden), `no golden for ${name} (run with HW_UPDATE_GOLDEN=1)`);
      assert.equal(text, readFileSync(golden, 'utf8'));
    });
  }

  it('a file that is refused fails the CLI with exit 1 and names each unsupported key at its line', async () => {
    const refused = entries.filter((name) => existsSync(join(CORPUS, name, 'convert.golden')) && readFileSync(join(CORPUS, name, 'convert.golden'), 'utf8').startsWith('error:'));
    assert.ok(refused.length >= 5, `${refused.length} refused files`);
    for (const name of refused) {
      const result = await runCli(['convert', '-f', join(CORPUS, name)], { HOME: '/home/user', TAG: '', POSTGRES_PASSWORD: '' });
      assert.equal(result.code, 1, `${name}: ${result.stderr}`);
      assert.match(result.stderr, /^error: \S+:\d+:\d+ /, name);
    }
    const unsupported = await runCli(['convert', '-f', join(CORPUS, '25-many-unsupported')]);
    for (const [line, key] of [[4, 'tty'], [5, 'stdin_open'], [6, 'links'], [9, 'extends'], [14, 'deploy.labels'], [15, 'deploy.endpoint_mode']] as const) {
      assert.match(unsupported.stderr, new RegExp(`compose\\.yaml:${line}:\\d+ .*--ignore-unsupported ${key.replace('.', '\\.')} `), `${key} at line ${line}`);
    }
  });

  it('--ignore-unsupported leaves the named keys out and converts the rest', async () => {
    const result = await runCli(['convert', '--json', '-f', join(CORPUS, '06-build-refused'), '--ignore-unsupported', 'build']);
    // Without build: the services have no image, which the model needs: the message says so at the service.
    assert.equal(result.code, 1);
    assert.match(result.stderr, /services\.app\.image: required/);
    const converted = await runCli(['convert', '--json', '-f', join(CORPUS, '25-many-unsupported'), '--ignore-unsupported', 'tty,stdin_open,links,secrets,configs,extends,deploy.labels,deploy.endpoint_mode']);
    assert.equal(converted.code, 0, converted.stderr);
    const json = JSON.parse(converted.stdout) as { schema: string; fleet: { project: string; services: Record<string, unknown> } };
    assert.equal(json.schema, 'hostwright.convert/v1');
    assert.deepEqual(Object.keys(json.fleet.services).sort(), ['app', 'db']);
  });
});
