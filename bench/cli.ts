import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, percentile, round } from './stats.js';
import { BENCH_COMMAND, BENCH_IMAGE, progress, removeProjectContainers, throwIfInterrupted, uniqueName, withInterruptCleanup } from './support.js';

export interface CliOptions {
  /** Services in the fleet file of the unchanged apply. */
  readonly containers: number;
  /** Timed runs of every command. */
  readonly runs: number;
  /** Another build's CLI entry (`dist/cli/hostwright.js`, or an unbundled `dist/coordinator/cli/main.js`), timed the same way next to this one. */
  readonly baselineCli?: string;
}

/** Seconds of wall-clock time per process, start to exit. */
export interface ProcessSeconds {
  readonly median_s: number;
  readonly p90_s: number;
}

export interface CliFigures {
  readonly cli: string;
  readonly help: ProcessSeconds;
  /** `hostwright apply --local -f <fleet> --data-dir <dir>` of a fleet already converged: no action. */
  readonly apply_local_unchanged: ProcessSeconds;
}

export interface CliResult {
  readonly benchmark: 'cli';
  readonly containers: number;
  readonly runs: number;
  readonly node_version: string;
  /** `node -e 0`: Node's own start and exit, the floor of any CLI process here. */
  readonly node_start: ProcessSeconds;
  readonly current: CliFigures;
  readonly baseline: CliFigures | null;
}

/** One CLI build under test: its fleet file and data dir of its own, so that two builds never share containers. */
interface Subject {
  readonly cli: string;
  readonly project: string;
  readonly dataDir: string;
  readonly fleetFile: string;
}

/**
 * Times whole `hostwright` processes as a user starts them: Node's start alone, `--help`, and an
 * unchanged `apply --local` of N services (converged once, untimed). Runs of every command are
 * interleaved, so that a busy moment on the shared machine lands on all of them alike.
 */
export async function runCli(options: CliOptions): Promise<CliResult> {
  const run = uniqueName('hwbench-cli');
  const dir = await mkdtemp(join(tmpdir(), 'hw-bench-cli-'));
  const current = fileURLToPath(new URL('../cli/hostwright.js', import.meta.url));
  const subjects: Subject[] = [current, ...(options.baselineCli === undefined ? [] : [options.baselineCli])].map((cli, index) => {
    const project = `${run}-${index === 0 ? 'current' : 'baseline'}`;
    return { cli, project, dataDir: join(dir, project), fleetFile: join(dir, `${project}.yaml`) };
  });
  return withInterruptCleanup(
    async () => {
      for (const subject of subjects) await removeProjectContainers(subject.project);
      await rm(dir, { recursive: true, force: true });
    },
    async () => {
      for (const subject of subjects) {
        await writeFile(subject.fleetFile, fleetFile(subject.project, options.containers));
        progress(`cli: converging ${options.containers} services with ${subject.cli} (untimed)`);
        const converge = await timeProcess(applyArgs(subject));
        if (converge.code !== 0) throw new Error(`the converging apply of ${subject.cli} exited ${converge.code}: ${converge.stderr}`);
      }
      const timings = new Map<string, number[]>();
      const record = (key: string, seconds: number) => timings.set(key, [...(timings.get(key) ?? []), seconds]);
      for (let i = 0; i < options.runs; i += 1) {
        throwIfInterrupted();
        record('node', (await timeProcess(['-e', '0'])).seconds);
        for (const subject of subjects) {
          const help = await timeProcess([subject.cli, '--help']);
          if (help.code !== 0) throw new Error(`${subject.cli} --help exited ${help.code}: ${help.stderr}`);
          record(`${subject.cli} help`, help.seconds);
          const apply = await timeProcess(applyArgs(subject));
          // Every timed run must be the no-op it claims to be.
          if (apply.code !== 0 || !apply.stdout.includes('Already converged')) throw new Error(`an unchanged apply of ${subject.cli} did not report "Already converged" (exit ${apply.code}): ${apply.stdout}${apply.stderr}`);
          record(`${subject.cli} apply`, apply.seconds);
        }
      }
      const figures = (subject: Subject): CliFigures => ({ cli: subject.cli, help: summary(timings.get(`${subject.cli} help`) ?? []), apply_local_unchanged: summary(timings.get(`${subject.cli} apply`) ?? []) });
      const [currentSubject, baselineSubject] = subjects;
      if (currentSubject === undefined) throw new Error('no CLI to time');
      return {
        benchmark: 'cli',
        containers: options.containers,
        runs: options.runs,
        node_version: process.version,
        node_start: summary(timings.get('node') ?? []),
        current: figures(currentSubject),
        baseline: baselineSubject === undefined ? null : figures(baselineSubject),
      };
    },
  );
}

export function cliRows(result: CliResult): [string, string][] {
  const show = (figures: ProcessSeconds) => `median ${figures.median_s.toFixed(3)} s, p90 ${figures.p90_s.toFixed(3)} s`;
  const rows: [string, string][] = [
    ['node', result.node_version],
    ['runs per command (interleaved)', String(result.runs)],
    ['node -e 0 (the floor: Node start + exit)', show(result.node_start)],
    ['hostwright --help', show(result.current.help)],
    [`hostwright apply --local, ${result.containers} services, unchanged`, show(result.current.apply_local_unchanged)],
  ];
  if (result.baseline) {
    rows.push(['baseline: hostwright --help', show(result.baseline.help)], [`baseline: apply --local, ${result.containers} services, unchanged`, show(result.baseline.apply_local_unchanged)], ['baseline CLI', result.baseline.cli]);
  }
  return rows;
}

function applyArgs(subject: Subject): string[] {
  return [subject.cli, 'apply', '--local', '-f', subject.fleetFile, '--data-dir', subject.dataDir];
}

function fleetFile(project: string, services: number): string {
  const command = `[${BENCH_COMMAND.map((part) => JSON.stringify(part)).join(', ')}]`;
  const lines = Array.from({ length: services }, (_, i) => `  s${i + 1}:\n    image: ${BENCH_IMAGE}\n    command: ${command}\n    stop_timeout: 1s\n`);
  return `project: ${project}\nservices:\n${lines.join('')}`;
}

function summary(samples: readonly number[]): ProcessSeconds {
  return { median_s: round(median(samples)), p90_s: round(percentile(samples, 90)) };
}

/** Runs `node <args>` to its exit; the time is from spawning to the exit of the process. */
function timeProcess(args: readonly string[]): Promise<{ seconds: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ seconds: (performance.now() - startedAt) / 1000, code, stdout, stderr }));
  });
}
