import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../agent/store/journal.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { CLI } from '../lib/cli.js';

function event(index: number): HostwrightEvent {
  return { id: randomUUID(), type: 'applied', severity: 'info', hostId: 'local', project: 'pipe', message: `event ${index} ${'x'.repeat(60)}`, timestamp: new Date().toISOString(), correlationID: randomUUID() };
}

/** Runs a shell pipeline; prints the first command's exit status last, as PIPESTATUS has it. */
function pipeline(script: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `${script}; echo "status=\${PIPESTATUS[0]}"`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', () => resolve({ stdout, stderr }));
  });
}

// `hostwright events | head -1`: the reader leaves after one line, the CLI's next write fails with EPIPE.
describe('a closed stdout pipe ends a command quietly', () => {
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-pipe-'));
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data'), NODE: process.execPath, HW_CLI: CLI };
    // Far more than a pipe buffer (64 KiB) of output, so a write is still pending when head exits.
    const journal = await Journal.open(join(dir, 'data'));
    for (let start = 0; start < 3_000; start += 500) await journal.appendEvents(Array.from({ length: 500 }, (_, i) => event(start + i)));
    await journal.close();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('events --local | head -1: one line, no stack trace, status 141 (as git log | head -1)', async () => {
    const result = await pipeline('"$NODE" "$HW_CLI" events --local | head -1', env);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 2, result.stdout);
    assert.match(lines[0] ?? '', /event 0 x/);
    assert.equal(lines[1], 'status=141');
    assert.doesNotMatch(result.stderr, /EPIPE|Error|at /, result.stderr);
  });

  it('events --local --json | head -1 too, and the whole output still reads when the reader stays', async () => {
    const closed = await pipeline('"$NODE" "$HW_CLI" events --local --json | head -1', env);
    assert.match(closed.stdout, /^\{"schema":"hostwright\.event\/v1".*\nstatus=141\n$/s);
    assert.doesNotMatch(closed.stderr, /EPIPE|Error|at /, closed.stderr);
    const whole = await pipeline('"$NODE" "$HW_CLI" events --local | wc -l', env);
    assert.match(whole.stdout, /^\s*3000\nstatus=0\n$/);
  });
});
