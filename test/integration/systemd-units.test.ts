import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_AGENT_UNIT_PATHS, renderAgentUnit } from '../../coordinator/cli/commands/agent/agent-unit.js';
import { uniqueName } from '../lib/builders.js';
import { CLI, startCli } from '../lib/cli.js';
import { waitFor } from '../lib/wait.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const hasSystemd = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** `systemd-analyze verify`: exit 0 and not one warning (an unknown key or bad value is only a warning). */
export function verifyUnit(path: string): void {
  const result = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
  assert.equal(result.status, 0, `systemd-analyze verify ${path}: ${result.stderr}`);
  assert.equal(result.stderr.trim(), '', `systemd-analyze verify ${path} warned`);
}

describe('systemd units (deploy/systemd)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-units-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ships the agent unit exactly as `agent install` renders it with the default paths', async () => {
    assert.equal(await readFile(join(REPO, 'deploy/systemd/hostwright-agent.service'), 'utf8'), renderAgentUnit(DEFAULT_AGENT_UNIT_PATHS));
  });

  it('the agent unit, with this machine\'s node and CLI, and the nats-server unit pass systemd-analyze verify', { skip: !hasSystemd('systemd-analyze') && 'systemd-analyze is not installed (Debian package systemd)' }, async () => {
    const unit = join(dir, 'hostwright-agent.service');
    await writeFile(unit, renderAgentUnit({ node: process.execPath, cli: CLI, config: join(dir, 'agent config.yaml'), dataDir: join(dir, 'data') }));
    verifyUnit(unit);
    verifyUnit(join(REPO, 'deploy/systemd/nats-server.service'));
    // A broken unit must fail the check: the check can fail.
    const broken = join(dir, 'broken.service');
    await writeFile(broken, renderAgentUnit({ node: '/nonexistent/node', cli: CLI, config: '/etc/hostwright/agent.yaml', dataDir: '/var/lib/hostwright' }).replace('ProtectSystem=strict', 'ProtectSystem=strictest'));
    assert.throws(() => verifyUnit(broken));
  });

  // No systemd runs as PID 1 here: systemd-socket-activate holds a datagram socket as NOTIFY_SOCKET
  // would be, and prints what systemd-notify sends on it.
  it('the agent tells NOTIFY_SOCKET READY=1 once it runs and STOPPING=1 on SIGTERM', { skip: !(hasSystemd('systemd-notify') && hasSystemd('systemd-socket-activate')) && 'systemd-notify or systemd-socket-activate is not installed (Debian package systemd)' }, async () => {
    const socket = join(dir, 'notify.sock');
    const listener = spawn('systemd-socket-activate', ['--datagram', '-l', socket, '--', 'sh', '-c', 'exec cat <&3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let received = '';
    listener.stdout.on('data', (chunk: Buffer) => (received += chunk.toString()));
    try {
      await waitFor('the notify socket', async () => (await import('node:fs')).existsSync(socket));
      const file = join(dir, 'fleet.yaml');
      await writeFile(file, `project: ${uniqueName('notify')}\nservices: {}\n`);
      const agent = startCli(['agent', '--local', '-f', file, '--data-dir', join(dir, 'agent-data'), '--resync', '1h'], { NOTIFY_SOCKET: socket });
      await waitFor('READY=1', async () => received.includes('READY=1'), 30_000).catch((error: unknown) => {
        agent.kill('SIGKILL');
        throw new Error(`${String(error)}\nagent output:\n${agent.output().slice(-3000)}`);
      });
      assert.ok(!received.includes('STOPPING=1'));
      agent.kill('SIGTERM');
      const [code] = (await once(agent, 'exit')) as [number | null];
      assert.equal(code, 0, agent.output());
      await waitFor('STOPPING=1', async () => received.includes('STOPPING=1'));
      assert.match(agent.output(), /"msg":"agent running"/);
    } finally {
      listener.kill('SIGTERM');
    }
  });
});
