/**
 * A SEPARATE dockerd for tests that restart the engine (never the machine's main one): its own
 * data root, exec root, pid file, unix socket and its own bridge (hwchaos0, 10.213.0.1/24; never
 * --bridge=none, which deletes docker0 under the main engine), no iptables or masquerading. The
 * test image is loaded into it from the main engine. cleanup() stops it, deletes the bridge and
 * removes the dirs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { killOnExit } from './child-reaper.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
export const PRIVATE_BRIDGE = 'hwchaos0';
const BRIDGE_ADDRESS = '10.213.0.1/24';

export class PrivateDockerd {
  #child: ChildProcess | undefined;
  #output = '';
  readonly docker: Docker;

  private constructor(readonly dir: string) {
    this.docker = new Docker({ socketPath: this.socketPath });
  }

  get socketPath(): string {
    return join(this.dir, 'docker.sock');
  }

  /** DOCKER_HOST for an agent on this engine. */
  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  static async start(image = 'hw/busybox:test'): Promise<PrivateDockerd> {
    // A bridge left by an earlier, interrupted run of this harness is ours to replace.
    await run('ip', ['link', 'del', PRIVATE_BRIDGE]).catch(() => undefined);
    await run('ip', ['link', 'add', PRIVATE_BRIDGE, 'type', 'bridge']);
    await run('ip', ['addr', 'add', BRIDGE_ADDRESS, 'dev', PRIVATE_BRIDGE]);
    await run('ip', ['link', 'set', PRIVATE_BRIDGE, 'up']);
    const engine = new PrivateDockerd(await mkdtemp('/tmp/hwd-'));
    try {
      await engine.launch();
      await run('sh', ['-c', `docker save ${image} | docker -H ${engine.dockerHost} load`]);
    } catch (error) {
      await engine.cleanup();
      throw error;
    }
    return engine;
  }

  async launch(): Promise<void> {
    const args = ['--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'), '--pidfile', join(this.dir, 'docker.pid'), '-H', this.dockerHost, `--bridge=${PRIVATE_BRIDGE}`, '--iptables=false', '--ip-masq=false', '--ip6tables=false'];
    const child = spawn('dockerd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString()));
    this.#child = child;
    await waitFor('the private dockerd answers', async () => {
      if (child.exitCode !== null) throw new Error(`dockerd exited ${child.exitCode}:\n${this.#output.slice(-2_000)}`);
      return (await this.docker.ping().catch(() => undefined)) !== undefined;
    }, 60_000, 200);
  }

  /** SIGTERM (the engine stops its containers) and start again on the same dirs and socket. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  output(): string {
    return this.#output;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    // Unmount anything the engine left mounted under its dirs before removing them.
    await run('sh', ['-c', `grep -o " ${this.dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(() => undefined);
    await run('ip', ['link', 'del', PRIVATE_BRIDGE]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
