import { PassThrough } from 'node:stream';
import { docker } from './docker-harness.js';

/** Runs a shell command inside a container; its stdout and stderr together, and the exit code. */
export async function inside(containerId: string, script: string): Promise<{ output: string; code: number }> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const sink = new PassThrough();
  let output = '';
  sink.on('data', (chunk: Buffer) => (output += chunk.toString()));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.on('end', resolve));
  const { ExitCode } = await exec.inspect();
  return { output: output.trim(), code: ExitCode ?? -1 };
}
