import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { RuntimeError } from '../../shared/errors.js';
import { dockerMessage, isNotFound } from './docker-errors.js';
import type { ExecStartRequest, RuntimeExec } from './runtime-adapter.js';

/**
 * A command in a running container over the Engine API: exec create, then a hijacked start (the
 * attached stream both ways), resize while it runs, and its exit code from exec inspect.
 */
export async function startDockerExec(docker: Docker, containerId: string, request: ExecStartRequest): Promise<RuntimeExec> {
  const container = docker.getContainer(containerId);
  let exec: Docker.Exec;
  try {
    exec = await container.exec({ Cmd: [...request.argv], AttachStdin: request.stdin, AttachStdout: true, AttachStderr: true, Tty: request.tty, ...(request.size ? { ConsoleSize: [request.size.rows, request.size.cols] } : {}) } as Docker.ExecCreateOptions);
  } catch (error) {
    if (isNotFound(error)) throw new RuntimeError(`container ${containerId.slice(0, 12)} is gone`, { cause: error });
    throw new RuntimeError(`exec in container ${containerId.slice(0, 12)}: ${dockerMessage(error)}`, { cause: error });
  }
  let stream: Duplex;
  try {
    stream = (await exec.start({ hijack: true, stdin: request.stdin, Tty: request.tty })) as unknown as Duplex;
  } catch (error) {
    throw new RuntimeError(`exec in container ${containerId.slice(0, 12)}: ${dockerMessage(error)}`, { cause: error });
  }
  return {
    stream,
    resize: async (size) => {
      await exec.resize({ h: size.rows, w: size.cols });
    },
    exitCode: async () => {
      const inspect = await exec.inspect();
      return inspect.Running ? null : inspect.ExitCode;
    },
  };
}
