/**
 * A REAL image registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 with htpasswd
 * auth, its own config and storage dir. Docker treats 127.0.0.0/8 registries as insecure-allowed,
 * so the engine pushes and pulls over plain HTTP. Its access log counts manifest requests.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from './child-reaper.js';
import { docker } from './docker-harness.js';
import { freePort } from './nats-server.js';
import { waitFor } from './wait.js';

export interface LocalRegistry {
  /** 127.0.0.1:<port>, the image references' registry part. */
  readonly host: string;
  readonly username: string;
  readonly password: string;
  readonly dir: string;
  /** Requests (GET or HEAD) for a repository's manifests the registry answered so far. */
  manifestRequests(repository: string): Promise<number>;
  /** The access log's lines about one repository (for a failing test's message). */
  accessLog(repository: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

const REGISTRY_BIN = process.env.HW_DOCKER_REGISTRY ?? 'docker-registry';

export async function startLocalRegistry(username: string, password: string): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'hw-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  // bcrypt: the only hash the registry's htpasswd auth accepts.
  const htpasswd = execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' });
  await writeFile(join(dir, 'htpasswd'), htpasswd);
  const config = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    'auth:',
    '  htpasswd:',
    '    realm: hostwright-test',
    `    path: ${join(dir, 'htpasswd')}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const logFile = join(dir, 'registry.log');
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
    const log = openSync(logFile, 'a');
    child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', log, log] });
    closeSync(log);
    killOnExit(child);
    await waitFor('the registry to answer', async () => {
      const answer = await fetch(`http://${host}/v2/`).catch(() => undefined);
      return answer?.status === 401;
    }, 15_000);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const killLater = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killLater);
  };
  await start();
  return {
    host,
    username,
    password,
    dir,
    async manifestRequests(repository: string): Promise<number> {
      const log = await readFile(logFile, 'utf8');
      return log.split('\n').filter((line) => line.includes(`"GET /v2/${repository}/manifests/`) || line.includes(`"HEAD /v2/${repository}/manifests/`)).length;
    },
    async accessLog(repository: string): Promise<string> {
      const log = await readFile(logFile, 'utf8');
      return log.split('\n').filter((line) => line.startsWith('127.0.0.1 ') && line.includes(`/v2/${repository}/`)).join('\n');
    },
    stop,
    start,
    async cleanup(): Promise<void> {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for the end of an engine push or pull stream; rejects with the engine's error line, if any. */
export async function consume(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failure = error?.message ?? output.find((line) => line.error)?.error;
      if (failure) reject(new Error(failure));
      else resolve();
    });
  });
}

/** Every file under dir, as bytes (LevelDB's and JetStream's files included): where a secret must not be. */
export async function filesUnder(dir: string): Promise<Buffer[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return Promise.all(entries.filter((entry) => entry.isFile()).map((entry) => readFile(join(entry.parentPath, entry.name)).catch(() => Buffer.alloc(0))));
}
