/**
 * Two (or more) bare network namespaces joined by one bridge in the root namespace, with no engine:
 * for tests and benchmarks of the mesh data plane itself. Names are hwnp<run>…, unique per run;
 * cleanup() deletes the namespaces (and with them every interface and wireguard-go in them).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { killOnExit } from './child-reaper.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface BareHost {
  readonly netns: string;
  /** Its address on the link between the namespaces. */
  readonly address: string;
  /** A mesh interface name unique on this machine (wireguard-go's control sockets are machine-wide). */
  readonly meshInterface: string;
}

export class NetnsPair {
  readonly #children: ChildProcess[] = [];

  private constructor(
    readonly runId: string,
    readonly bridge: string,
    readonly hosts: readonly BareHost[],
  ) {}

  /** `count` namespaces on 10.251.<r>.0/24 (a /24 no route of this machine uses). */
  static async start(count = 2): Promise<NetnsPair> {
    const runId = randomBytes(3).toString('hex').slice(0, 5);
    const routes = (await run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout;
    const free = Array.from({ length: 200 }, (_, i) => i + 20).filter((r) => !routes.includes(`10.251.${r}.`));
    const r = free[Math.floor(Math.random() * free.length)];
    if (r === undefined) throw new Error('no free 10.251.x.0/24 for a netns pair');
    const hosts = Array.from({ length: count }, (_, i): BareHost => ({ netns: `hwnp${runId}-${i + 1}`, address: `10.251.${r}.${i + 10}`, meshInterface: `hwm${runId}${i + 1}` }));
    const pair = new NetnsPair(runId, `hwnp${runId}b`, hosts);
    try {
      await run('ip', ['link', 'add', pair.bridge, 'type', 'bridge']);
      await run('ip', ['link', 'set', pair.bridge, 'up']);
      await run('iptables', ['-w', '-I', 'FORWARD', '1', '-i', pair.bridge, '-o', pair.bridge, '-j', 'ACCEPT']);
      for (const [i, host] of hosts.entries()) {
        const veth = `hwnp${runId}v${i + 1}`;
        await run('ip', ['netns', 'add', host.netns]);
        await run('ip', ['-n', host.netns, 'link', 'set', 'lo', 'up']);
        await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns]);
        await run('ip', ['link', 'set', veth, 'master', pair.bridge, 'up']);
        await run('ip', ['-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
        await run('ip', ['-n', host.netns, 'link', 'set', 'eth0', 'up']);
      }
      return pair;
    } catch (error) {
      await pair.cleanup();
      throw error;
    }
  }

  exec(netns: string, command: string, args: readonly string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
    return run('nsenter', [`--net=/var/run/netns/${netns}`, '--', command, ...args], { timeout: timeoutMs });
  }

  /** A Node script run in the namespace until cleanup (servers). */
  spawnNode(netns: string, script: string, args: readonly string[] = []): ChildProcess {
    const child = spawn('nsenter', [`--net=/var/run/netns/${netns}`, '--', process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    this.#children.push(child);
    return child;
  }

  /** The root-side end of host i's link (0-based): down cuts the host off. */
  veth(index: number): string {
    return `hwnp${this.runId}v${index + 1}`;
  }

  /** A TCP echo server on address:port in the namespace, ready when this resolves. */
  async echoServer(netns: string, address: string, port: number): Promise<void> {
    const child = this.spawnNode(netns, `require('node:net').createServer((s) => s.pipe(s)).listen(${port}, ${JSON.stringify(address)}, () => console.log('listening'))`);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(`an echo server on ${address}:${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`echo server exited: ${output}`);
      return output.includes('listening');
    }, 10_000, 50);
  }

  /** Sends a line to address:port from the namespace and returns what came back (throws on timeout). */
  async roundTrip(netns: string, address: string, port: number, timeoutMs = 3_000): Promise<string> {
    const script = `const s = require('node:net').connect(${port}, ${JSON.stringify(address)}, () => s.write('ping\\n')); s.setTimeout(${timeoutMs}, () => { console.error('timeout'); process.exit(2); }); s.on('data', (d) => { process.stdout.write(d); s.destroy(); }); s.on('error', (e) => { console.error(e.message); process.exit(3); });`;
    return (await this.exec(netns, process.execPath, ['-e', script])).stdout;
  }

  async cleanup(): Promise<void> {
    for (const child of this.#children) child.kill('SIGKILL');
    // A namespace lives on while a process is in it: end ours (wireguard-go, servers) first; TERM lets wireguard-go remove its socket.
    for (const host of this.hosts) {
      const pids = (await run('ip', ['netns', 'pids', host.netns]).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((line) => line.trim() !== '').map(Number);
      for (const pid of pids) signal(pid, 'SIGTERM');
      await waitFor(`the processes in ${host.netns} to exit`, async () => pids.every((pid) => !signal(pid, 0)), 5_000, 50).catch(() => pids.forEach((pid) => signal(pid, 'SIGKILL')));
      await run('ip', ['netns', 'del', host.netns]).catch(() => undefined);
    }
    await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
    while (await run('iptables', ['-w', '-D', 'FORWARD', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT']).then(() => true, () => false));
  }
}

/** Sends a signal; false when the process is gone. */
function signal(pid: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
