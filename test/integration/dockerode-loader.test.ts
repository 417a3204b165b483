import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const LOADER = new URL('../../agent/runtime/dockerode-loader.js', import.meta.url).href;

/** Runs `body` in a fresh Node process (a require cache of its own) after loading dockerode through the loader; returns its JSON output. */
async function inFreshProcess(body: string): Promise<Record<string, unknown>> {
  const script = `
    import { createRequire } from 'node:module';
    import { loadDockerode } from ${JSON.stringify(LOADER)};
    const cache = createRequire(import.meta.url).cache;
    const loaded = (pattern) => Object.keys(cache).some((file) => pattern.test(file));
    const Docker = loadDockerode();
    ${body}`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

// dockerode is loaded with its BuildKit-session and SSH modules deferred: absent until called, then the real ones.
describe('dockerode loader (real Docker engine)', () => {
  it('talks to the engine without loading ssh2 or gRPC', async () => {
    const result = await inFreshProcess(`
      const containers = await new Docker().listContainers({ all: true });
      process.stdout.write(JSON.stringify({ listed: Array.isArray(containers), ssh2: loaded(/node_modules\\/ssh2\\//), grpc: loaded(/node_modules\\/@grpc\\//) }));`);
    assert.deepEqual(result, { listed: true, ssh2: false, grpc: false });
  });

  it('an ssh:// engine loads the real SSH transport on first use', async () => {
    // Port 1 on loopback refuses the connection: the error must come from ssh2 connecting, not from the stand-in.
    const result = await inFreshProcess(`
      let message = '';
      try { await new Docker({ protocol: 'ssh', host: '127.0.0.1', port: 1, username: 'nobody' }).ping(); } catch (error) { message = String(error.message); }
      process.stdout.write(JSON.stringify({ message, ssh2: loaded(/node_modules\\/ssh2\\//) }));`);
    assert.match(String(result.message), /ECONNREFUSED/);
    assert.equal(result.ssh2, true);
  });
});
