import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConverted } from '../../coordinator/cli/commands/convert/convert-run.js';
import { loadWorkload } from '../../coordinator/workload-file.js';
import { InvalidInputError } from '../../shared/errors.js';
import { runCli } from '../lib/cli.js';
import { NO_PUBLISHED_CORPUS, publishedFiles } from '../lib/published-corpus.js';

// Real-world-shaped compose files, each with the golden output of `hostwright convert` (or of its
// error), and compose files as public projects publish them (test/lib/published-corpus.ts: each
// with a SOURCE, read from outside the repository).
// HW_UPDATE_GOLDEN=1 rewrites the goldens from what the reader gives now.

const CORPUS = fileURLToPath(new URL('../../../test/compose-corpus/', import.meta.url));
const UPDATE = process.env.HW_UPDATE_GOLDEN === '1';

/** Converted text, or `error: <message>`, with the corpus directory (which differs per checkout) as <dir>. */
async function convertedText(directory: string, file: string = directory, ignoreUnsupported: readonly string[] = []): Promise<{ text: string; failed: boolean }> {
  const environment = { HOME: '/home/user' };
  try {
    const workload = await loadWorkload({ files: [file], profiles: [], ignoreUnsupported }, environment);
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

/** The published files: each directory holds one compose file under the name its project gave it. */
const published = publishedFiles();

/** Published files still refused, and why: only what a fleet truly cannot run (build-only services aside). */
const STILL_REFUSED: Readonly<Record<string, RegExp>> = {
  // The corpus holds wger's docker-compose.yml and config/prod.env only, not the services/*.yaml it includes
  // (with them, from the same commit of wger-project/docker, it plans).
  wger: /include\[0\]: cannot read \S*services\/postgres\.yaml/,
};

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

  it('holds at least 30 compose files as real projects publish them, each with its source and licence', { skip: NO_PUBLISHED_CORPUS }, () => {
    assert.ok(published.length >= 30, `${published.length} published files`);
    for (const { name, directory } of published) assert.match(readFileSync(join(directory, 'SOURCE'), 'utf8'), /^repository: https:\/\/github\.com\/.+\ncommit: [0-9a-f]{40}.*\nfiles: .+\nlicence: .+\n$/, name);
  });

  for (const { name, file, directory } of published) {
    it(`published/${name}: convert gives its golden output`, async () => {
      const golden = join(directory, 'convert.golden');
      const { text } = await convertedText(directory + '/', file);
      if (UPDATE) writeFileSync(golden, text);
      assert.ok(existsSync(golden), `no golden for published/${name} (run with HW_UPDATE_GOLDEN=1)`);
      assert.equal(text, readFileSync(golden, 'utf8'));
    });
  }

  it('every published file whose services all have an image plans as it is; one with build-only services plans with --ignore-unsupported build', { skip: NO_PUBLISHED_CORPUS }, async () => {
    const accepted: string[] = [];
    for (const { name, file, directory: path } of published) {
      const directory = path + '/';
      const { text, failed } = await convertedText(directory, file);
      if (!failed) {
        accepted.push(name);
        continue;
      }
      const still = STILL_REFUSED[name];
      if (still !== undefined) {
        assert.match(text, still, name);
        continue;
      }
      assert.match(text, /services\.[\w-]+\.build: cannot run on a fleet/, `${name} is refused for another reason than a build-only service:\n${text}`);
      const withoutBuild = await convertedText(directory, file, ['build']);
      assert.equal(withoutBuild.failed, true, `${name}: a build-only service has no image, which the model needs`);
      assert.match(withoutBuild.text, /image: required/, name);
    }
    const buildOnly = published.length - accepted.length - Object.keys(STILL_REFUSED).length;
    assert.ok(buildOnly <= 2, `${accepted.length} of ${published.length} accepted, ${buildOnly} with build-only services`);
  });

  it('a file that is refused fails the CLI with exit 1 and names each unsupported key at its line', async () => {
    const refused = entries.filter((name) => existsSync(join(CORPUS, name, 'convert.golden')) && readFileSync(join(CORPUS, name, 'convert.golden'), 'utf8').startsWith('error:'));
    assert.ok(refused.length >= 5, `${refused.length} refused files`);
    for (const name of refused) {
      const result = await runCli(['convert', '-f', join(CORPUS, name)], { HOME: '/home/user', TAG: '', POSTGRES_PASSWORD: '' });
      assert.equal(result.code, 1, `${name}: ${result.stderr}`);
      assert.match(result.stderr, /^error: \S+:\d+:\d+ /, name);
    }
    const unsupported = await runCli(['convert', '-f', join(CORPUS, '25-many-unsupported')]);
    for (const [line, key] of [[9, 'volumes_from'], [14, 'deploy.labels'], [15, 'deploy.endpoint_mode']] as const) {
      assert.match(unsupported.stderr, new RegExp(`compose\\.yaml:${line}:\\d+ .*--ignore-unsupported ${key.replace('.', '\\.')} `), `${key} at line ${line}`);
    }
  });

  it('--ignore-unsupported leaves the named keys out and converts the rest', async () => {
    const result = await runCli(['convert', '--json', '-f', join(CORPUS, '06-build-refused'), '--ignore-unsupported', 'build']);
    // Without build: the services have no image, which the model needs: the message says so at the service.
    assert.equal(result.code, 1);
    assert.match(result.stderr, /services\.app\.image: required/);
    const converted = await runCli(['convert', '--json', '-f', join(CORPUS, '25-many-unsupported'), '--ignore-unsupported', 'secrets,configs,volumes_from,deploy.labels,deploy.endpoint_mode']);
    assert.equal(converted.code, 0, converted.stderr);
    const json = JSON.parse(converted.stdout) as { schema: string; fleet: { project: string; services: Record<string, unknown> } };
    assert.equal(json.schema, 'hostwright.convert/v1');
    assert.deepEqual(Object.keys(json.fleet.services).sort(), ['app', 'db']);
    // What was left out is said, each at its line; a key the file does not use is refused.
    assert.match(converted.stderr, /warning: \S+compose\.yaml:9:5 services\.app\.volumes_from: left out \(--ignore-unsupported volumes_from\)/);
    const unused = await runCli(['convert', '-f', join(CORPUS, '25-many-unsupported'), '--ignore-unsupported', 'secrets,configs,volumes_from,deploy.labels,deploy.endpoint_mode,build']);
    assert.equal(unused.code, 1);
    assert.match(unused.stderr, /--ignore-unsupported build: the files use no build to leave out/);
  });
});
