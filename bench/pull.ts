import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Reconciler } from '../agent/reconciler.js';
import { DockerRuntime } from '../agent/runtime/docker-runtime.js';
import { RegistryCredentialsFile } from '../agent/runtime/registry-credentials.js';
import { Journal } from '../agent/store/journal.js';
import { startLocalRegistry } from '../test/lib/local-registry.js';
import { median, round } from './stats.js';
import { BENCH_IMAGE, benchDesired, benchService, docker, progress, removeProjectContainers, throwIfInterrupted, uniqueName } from './support.js';

const run = promisify(execFile);

export interface PullOptions {
  /** Size of the random (incompressible) layer added to the test image. */
  readonly megabytes: number;
  readonly runs: number;
}

export interface PullResult {
  readonly benchmark: 'pull';
  readonly image_mb: number;
  readonly runs: number;
  /** `docker pull` (the CLI, credentials from a DOCKER_CONFIG holding the same file), wall time. */
  readonly docker_pull_ms: number;
  /** The engine's pull through dockerode with the same credentials, no Hostwright around it. */
  readonly raw_api_pull_ms: number;
  /** The pull-image action of a Hostwright cycle (intent, pull with the credentials file, result), its duration. */
  readonly hostwright_pull_ms: number;
  readonly ratio: number;
}

/**
 * The same image from the same local registry (htpasswd auth, 127.0.0.1), pulled by `docker pull`,
 * by the engine API directly and by a Hostwright cycle, alternating which goes first; the image is removed before every pull.
 */
export async function runPull(options: PullOptions): Promise<PullResult> {
  const password = `bench-${uniqueName('pw')}`;
  const registry = await startLocalRegistry('bench', password);
  const dir = await mkdtemp(join(tmpdir(), 'hw-bench-pull-'));
  const repository = `${registry.host}/${uniqueName('hwbench')}/pull`;
  const image = `${repository}:1`;
  const project = uniqueName('hwbench-pull');
  const engine = docker();
  let journal: Journal | undefined;
  try {
    progress(`pull: building a ${options.megabytes} MB image and pushing it to ${registry.host}`);
    await writeFile(join(dir, 'Dockerfile'), `FROM ${BENCH_IMAGE}\nCOPY blob /blob\n`);
    await run('dd', ['if=/dev/urandom', `of=${join(dir, 'blob')}`, 'bs=1M', `count=${options.megabytes}`]);
    await run('docker', ['build', '-q', '-t', image, dir]);
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`bench:${password}`).toString('base64') } } }));
    await chmod(config, 0o600);
    const env = { ...process.env, DOCKER_CONFIG: dir };
    await run('docker', ['push', '-q', image], { env });
    const removeLocal = async () => {
      await engine.getImage(image).remove({ force: true }).catch(() => undefined);
    };
    await removeLocal();

    journal = await Journal.open(join(dir, 'data'));
    const { credentials } = await RegistryCredentialsFile.open(config);
    const reconciler = new Reconciler({ runtime: new DockerRuntime({ docker: engine, registryAuth: credentials }), journal, hostId: uniqueName('bench'), logger: pino({ level: 'silent' }) });
    const dockerMs: number[] = [];
    const hostwrightMs: number[] = [];
    const rawMs: number[] = [];
    const viaApi = async () => {
      const started = performance.now();
      const stream = await engine.pull(image, { authconfig: { serveraddress: registry.host, username: 'bench', password } });
      await new Promise<void>((resolve, reject) => engine.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => (error || output.some((line) => line.error) ? reject(error ?? new Error(output.find((line) => line.error)?.error)) : resolve())));
      rawMs.push(performance.now() - started);
    };
    const viaDocker = async () => {
      const started = performance.now();
      await run('docker', ['pull', '-q', image], { env });
      dockerMs.push(performance.now() - started);
    };
    const viaHostwright = async () => {
      await removeProjectContainers(project);
      await journal?.putDesired(benchDesired(reconciler.hostId, project, { web: benchService({ image }) }));
      const report = await reconciler.runCycle({ explicit: true });
      const pull = report.results.find((result) => result.action.kind === 'pull-image');
      if (!pull || pull.outcome !== 'done') throw new Error(`the cycle did not pull: ${report.results.map((r) => r.message).join('; ') || 'no actions'}`);
      hostwrightMs.push(pull.durationMs);
    };
    for (let round_ = 0; round_ < options.runs; round_ += 1) {
      throwIfInterrupted();
      progress(`pull: round ${round_ + 1} of ${options.runs}`);
      for (const pull of round_ % 2 === 0 ? [viaDocker, viaApi, viaHostwright] : [viaHostwright, viaApi, viaDocker]) {
        await removeProjectContainers(project);
        await removeLocal();
        await pull();
      }
    }
    const dockerMedian = median(dockerMs);
    const hostwrightMedian = median(hostwrightMs);
    return { benchmark: 'pull', image_mb: options.megabytes, runs: options.runs, docker_pull_ms: round(dockerMedian, 1), raw_api_pull_ms: round(median(rawMs), 1), hostwright_pull_ms: round(hostwrightMedian, 1), ratio: round(hostwrightMedian / dockerMedian, 3) };
  } finally {
    await removeProjectContainers(project);
    await engine.getImage(image).remove({ force: true }).catch(() => undefined);
    await journal?.close().catch(() => undefined);
    await registry.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

export function pullRows(result: PullResult): [string, string][] {
  return [
    ['image / rounds', `${result.image_mb} MB random layer on ${BENCH_IMAGE} / ${result.runs}`],
    ['docker pull (median)', `${result.docker_pull_ms} ms`],
    ['engine API pull via dockerode (median)', `${result.raw_api_pull_ms} ms`],
    ['Hostwright pull-image action (median)', `${result.hostwright_pull_ms} ms`],
    ['Hostwright / docker pull', `${result.ratio}x`],
  ];
}
