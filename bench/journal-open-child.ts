// One journal open in a fresh process, for bench/journal-open.ts: prints how long Journal.open took,
// the process's RSS once it is open, and how many ownership records open loaded into memory.
import { Journal } from '../agent/store/journal.js';

const dataDir = process.argv[2];
if (dataDir === undefined) {
  process.stderr.write('usage: journal-open-child <data-dir>\n');
  process.exit(2);
}
const started = performance.now();
const journal = await Journal.open(dataDir);
const openMs = performance.now() - started;
const rss = process.memoryUsage().rss;
const sizes = journal.indexSizes;
await journal.close();
process.stdout.write(`${JSON.stringify({ open_ms: openMs, rss_bytes: rss, owner_records: sizes.owners })}\n`);
