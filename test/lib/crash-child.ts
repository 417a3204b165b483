// A short-lived agent for the crash test: stores the desired state, runs one explicit cycle, and
// prints a line per progress step so the parent can SIGKILL it at a chosen point.
import { pino } from 'pino';
import { Reconciler } from '../../agent/reconciler.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { Journal } from '../../agent/store/journal.js';
import { crashTestDesired } from './crash-scenario.js';

const [dataDir, project, version, replicas] = process.argv.slice(2);
if (!dataDir || !project || !version || !replicas) throw new Error('usage: crash-child <dataDir> <project> <version> <replicas>');

const journal = await Journal.open(dataDir);
const reconciler = new Reconciler({ runtime: new DockerRuntime(), journal, hostId: 'h1', logger: pino({ level: 'silent' }), parallelism: 4 });
const document = crashTestDesired(project, Number(version), Number(replicas));
const stored = (await journal.desiredDocuments()).find((d) => d.project === project);
if (stored?.revision !== document.revision) await journal.putDesired(document);
process.stdout.write('ready\n');
let step = 0;
const report = await reconciler.runCycle(
  { explicit: true },
  {
    onProgress: (progress) => {
      if (progress.type !== 'planned' && progress.type !== 'action-progress') process.stdout.write(`step ${++step}\n`);
    },
  },
);
process.stdout.write(`done failed=${report.failed}\n`);
// Hold until the parent closes stdin, so a kill chosen for the last step still lands on a live
// process (after the cycle, before the journal is closed): with stdin ignored this ends at once.
await new Promise<void>((resolve) => {
  process.stdin.on('end', resolve);
  process.stdin.resume();
});
await journal.close();
