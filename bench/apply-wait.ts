import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetApplyJsonSchema } from '../shared/fleet-apply-json.js';
import { startInProcessFleet } from './in-process-fleet.js';
import { median, percentile, round } from './stats.js';
import { BENCH_COMMAND, BENCH_IMAGE, progress, throwIfInterrupted, uniqueName, withInterruptCleanup } from './support.js';

export interface ApplyWaitOptions {
  /** Agents (in this process, on the local engine). */
  readonly hosts: number;
  /** Services on every host. */
  readonly containers: number;
  /** Timed applies per CLI build. */
  readonly runs: number;
  /** Another build's CLI entry (`dist/cli/hostwright.js`), timed the same way, alternating with this one. */
  readonly baselineCli?: string;
}

export interface ApplyWaitFigures {
  readonly cli: string;
  readonly median_s: number;
  readonly p90_s: number;
}

export interface ApplyWaitResult {
  readonly benchmark: 'apply-wait';
  readonly hosts: number;
  readonly containers: number;
  readonly runs: number;
  readonly current: ApplyWaitFigures;
  readonly baseline: ApplyWaitFigures | null;
}

/**
 * Whole `hostwright apply -f … --wait` processes against H real agents over a real nats-server,
 * each apply a change that replaces every container (a new env value), from spawn until every host
 * converged and the process exited. Two builds alternate on the same fleet, so that a busy moment
 * on the shared machine lands on both alike.
 */
export async function runApplyWait(options: ApplyWaitOptions): Promise<ApplyWaitResult> {
  const run = uniqueName('hwbench-aw');
  const project = `${run}-p`;
  const dir = await mkdtemp(join(tmpdir(), 'hw-bench-apply-wait-'));
  const current = fileURLToPath(new URL('../cli/hostwright.js', import.meta.url));
  const clis = [current, ...(options.baselineCli === undefined ? [] : [options.baselineCli])];
  progress(`apply-wait: starting nats-server and ${options.hosts} agents`);
  const fleet = await startInProcessFleet(run, options.hosts);
  return withInterruptCleanup(
    async () => {
      await fleet.close(project);
      await rm(dir, { recursive: true, force: true });
    },
    async () => {
      const seedFile = join(dir, 'coordinator-signing.nk');
      await writeFile(seedFile, `${new TextDecoder().decode(fleet.signer.seed)}\n`, { mode: 0o600 });
      const file = join(dir, 'fleet.yaml');
      // No context or signing key of whoever runs the benchmark reaches the CLI.
      const env = { ...process.env, HOSTWRIGHT_CONFIG: join(dir, 'no-config.yaml'), HOSTWRIGHT_SIGNING_KEY: '' };
      let version = 0;
      const apply = async (cli: string) => {
        version += 1;
        await writeFile(file, fleetFile(project, options.containers, version));
        const result = await timeProcess(env, [cli, 'apply', '-f', file, '--wait', '--json', '--timeout', '120s', '--nats', fleet.natsUrl, '--signing-key', seedFile]);
        if (result.code !== 0) throw new Error(`${cli} apply --wait exited ${result.code}: ${result.stdout}${result.stderr}`);
        // Either build's document: every host it wrote ended converged.
        const json = JSON.parse(result.stdout) as { hosts?: { state: string }[] };
        if (!(json.hosts ?? []).every((host) => host.state === 'converged') || (json.hosts ?? []).length !== options.hosts) throw new Error(`${cli} apply --wait did not converge every host: ${result.stdout}`);
        if (cli === current) fleetApplyJsonSchema.parse(json);
        return result.seconds;
      };
      progress('apply-wait: a first apply creates the containers (untimed)');
      for (const cli of clis) await apply(cli);
      const timings = new Map<string, number[]>();
      for (let i = 0; i < options.runs; i += 1) {
        throwIfInterrupted();
        for (const cli of clis) timings.set(cli, [...(timings.get(cli) ?? []), await apply(cli)]);
        progress(`apply-wait: run ${i + 1}/${options.runs}`);
      }
      const figures = (cli: string): ApplyWaitFigures => {
        const samples = timings.get(cli) ?? [];
        return { cli, median_s: round(median(samples)), p90_s: round(percentile(samples, 90)) };
      };
      return { benchmark: 'apply-wait', hosts: options.hosts, containers: options.containers, runs: options.runs, current: figures(current), baseline: options.baselineCli === undefined ? null : figures(options.baselineCli) };
    },
  );
}

export function applyWaitRows(result: ApplyWaitResult): [string, string][] {
  const show = (figures: ApplyWaitFigures) => `median ${figures.median_s.toFixed(3)} s, p90 ${figures.p90_s.toFixed(3)} s`;
  const what = `apply --wait, ${result.hosts} agents x ${result.containers} services replaced`;
  return [
    ['runs per build (alternating)', String(result.runs)],
    [what, show(result.current)],
    ...(result.baseline ? [[`baseline: ${what}`, show(result.baseline)], ['baseline CLI', result.baseline.cli]] as [string, string][] : []),
  ];
}

function fleetFile(project: string, services: number, version: number): string {
  const command = `[${BENCH_COMMAND.map((part) => JSON.stringify(part)).join(', ')}]`;
  const lines = Array.from({ length: services }, (_, i) => `  s${i + 1}:\n    image: ${BENCH_IMAGE}\n    command: ${command}\n    env: { VERSION: "${version}" }\n    stop_timeout: 1s\n`);
  return `project: ${project}\nservices:\n${lines.join('')}`;
}

/** Runs `node <args>` to its exit; the time is from spawning to the exit of the process. */
function timeProcess(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<{ seconds: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ seconds: (performance.now() - startedAt) / 1000, code, stdout, stderr }));
  });
}
