import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_IMAGE, uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { sleep } from '../../shared/sleep.js';

interface LogLine {
  readonly text: string;
  readonly level: number;
  readonly msg: string;
  readonly component?: string;
  readonly actions?: number;
}

const INFO = 30;
const DEBUG = 20;

/** The keys of a JSON line's top-level object, in order, repeats kept (JSON.parse would keep only the last). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (char === '"') {
      let end = i + 1;
      while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (depth === 1 && line[end + 1] === ':') keys.push(JSON.parse(line.slice(i, end + 1)) as string);
      i = end;
    } else if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') depth -= 1;
  }
  return keys;
}

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((text) => ({ text, ...(JSON.parse(text) as Omit<LogLine, 'text'>) }));
}

// An idle host used to log "cycle finished" at info on every cycle (822 lines in 15 minutes), and
// its lines carried "component" and "hostId" twice.
describe('agent logs: info says what changed, an idle cycle is debug, each key once per line (real agents over NATS)', { timeout: 180_000 }, () => {
  const runId = uniqueName('hwlog');
  const quiet = uniqueName('lg1');
  const verbose = uniqueName('lg2');
  const project = uniqueName('logs');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-logs-'));
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    // A resync every 250 ms: a dozen idle cycles in the few seconds the test watches.
    await fleet.startAgents([
      { hostId: quiet, labels: {}, args: ['--resync', '250ms'] },
      { hostId: verbose, labels: {}, args: ['--resync', '250ms', '--log-level', 'debug'] },
    ]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs the applying cycle at info, then nothing at info while idle; debug shows the idle cycles', async () => {
    const file = join(dir, 'fleet.yaml');
    await writeFile(file, `project: ${project}\nservices:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_timeout: 1s\n    placement:\n      hosts: [${quiet}, ${verbose}]\n`);
    const applied = await runCli(['apply', '-f', file, '--wait', '--nats', server.url], fleet.cliEnv);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    // Let the cycles that follow the apply (status settling) pass, then watch an idle host.
    await sleep(1_500);
    const mark = { quiet: fleet.agent(quiet).output().length, verbose: fleet.agent(verbose).output().length };
    await sleep(3_000);
    const quietAll = logLines(fleet.agent(quiet).output());
    const quietIdle = logLines(fleet.agent(quiet).output().slice(mark.quiet));
    const verboseIdle = logLines(fleet.agent(verbose).output().slice(mark.verbose));

    const applying = quietAll.find((line) => line.msg === 'cycle finished' && line.level === INFO && (line.actions ?? 0) > 0);
    assert.ok(applying, `no info "cycle finished" with actions:\n${quietAll.map((line) => line.text).join('\n')}`);
    assert.equal(applying.component, 'reconciler');

    const idleCycles = verboseIdle.filter((line) => line.msg === 'cycle finished');
    assert.ok(idleCycles.length >= 5, `the debug agent logged ${idleCycles.length} idle cycles in 3 s at a 250 ms resync`);
    assert.ok(idleCycles.every((line) => line.level === DEBUG && line.actions === 0), idleCycles.map((line) => line.text).join('\n'));
    assert.deepEqual(quietIdle.filter((line) => line.level >= INFO).map((line) => line.text), [], 'an idle agent logs nothing at info');
  });

  it('writes each key once in every line, the innermost component and the host id included', () => {
    const lines = [...logLines(fleet.agent(quiet).output()), ...logLines(fleet.agent(verbose).output())];
    assert.ok(lines.length > 20, `${lines.length} lines`);
    for (const line of lines) {
      const keys = topLevelKeys(line.text);
      assert.deepEqual(keys.filter((key, index) => keys.indexOf(key) !== index), [], line.text);
    }
    const reconciler = lines.filter((line) => line.component === 'reconciler');
    assert.ok(reconciler.length > 0 && reconciler.every((line) => topLevelKeys(line.text).includes('hostId')), 'reconciler lines name their host');
    assert.ok(lines.some((line) => line.component === 'agent'), 'the agent\'s own lines keep their component');
  });
});
