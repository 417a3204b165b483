// Prints the chaos results (JSON files under the results dir) as a Markdown table.
//   node dist/test/lib/render-chaos-results.js [dir]
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resultsDir, type ScenarioResult } from './chaos-results.js';

const dir = process.argv[2] ?? resultsDir();
const files = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
if (files.length === 0) {
  process.stdout.write(`no chaos results in ${dir}\n`);
  process.exit(0);
}
const results = await Promise.all(files.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8')) as ScenarioResult));

const percentile = (values: readonly number[], p: number): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

const header = ['Scenario', 'Repeats', 'Faults', 'Events recorded', 'In stream', 'Lost', 'Duplicated', 'Containers expected', 'Found', 'Missing', 'Duplicate', 'Orphan', 'Converge p50', 'Converge max'];
const rows = results.map((r) => [
  `${r.scenario} ${r.title}`,
  r.repeats,
  r.faults,
  r.eventsRecorded,
  r.eventsInStream,
  r.eventsLost,
  r.eventsDuplicated,
  r.containersExpected,
  r.containersFound,
  r.containersMissing,
  r.containersDuplicate,
  r.containersOrphan,
  seconds(percentile(r.convergeMs, 50)),
  seconds(percentile(r.convergeMs, 100)),
]);
const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
process.stdout.write(`${lines.join('\n')}\n`);
const notes = results.flatMap((r) => r.notes.map((note) => `- ${r.scenario}: ${note}`));
if (notes.length > 0) process.stdout.write(`\n${notes.join('\n')}\n`);
