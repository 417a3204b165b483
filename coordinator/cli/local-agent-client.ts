import { request } from 'node:http';
import { controlSocketPath } from '../../agent/control-server.js';
import { HostwrightError, errorMessage } from '../../shared/errors.js';
import { validate } from '../../shared/codec.js';
import { hostwrightEventSchema, type HostwrightEvent } from '../../shared/events.js';
import { hostStatusSchema, type HostStatus } from '../../shared/host-status.js';
import { retryReplySchema } from '../../shared/wire.js';

/** Reads from a running local agent's control socket (used when the agent holds the data dir). */
export async function fetchAgentStatus(dataDir: string): Promise<HostStatus> {
  const body = await controlRequest(dataDir, '/v1/status', 'GET');
  return validate(hostStatusSchema, JSON.parse(body), 'agent status');
}

/** One request to the agent's control socket: the body of a 200 answer, else an error saying what it answered. */
function controlRequest(dataDir: string, path: string, method: 'GET' | 'POST'): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = request({ socketPath: controlSocketPath(dataDir), path, method }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(text) : reject(new HostwrightError(`agent answered ${response.statusCode}: ${text}`))));
    });
    req.on('error', (error) => reject(unreachable(dataDir, error)));
    req.end();
  });
}

export async function fetchAgentEvents(dataDir: string, options: { follow: boolean; onEvent: (event: HostwrightEvent) => void }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request({ socketPath: controlSocketPath(dataDir), path: `/v1/events?after=0${options.follow ? '&follow=1' : ''}` }, (response) => {
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (line.trim() !== '') options.onEvent(validate(hostwrightEventSchema, JSON.parse(line), 'agent event'));
        }
      });
      response.on('end', resolve);
    });
    req.on('error', (error) => reject(unreachable(dataDir, error)));
    req.end();
  });
}

/** Asks a running local agent to lift a project's rejection (POST /v1/retry). */
export async function postAgentRetry(dataDir: string, project: string): Promise<{ hostId: string; project: string; rejected?: { revision: number; reason: string }; backoff?: { revision: number; attempts: number; reason: string } }> {
  const body = await controlRequest(dataDir, `/v1/retry?project=${encodeURIComponent(project)}`, 'POST');
  const reply = validate(retryReplySchema, { ok: true, ...(JSON.parse(body) as object) }, 'agent retry reply');
  if (!reply.ok) throw new HostwrightError(reply.error);
  return reply;
}

function unreachable(dataDir: string, cause: unknown): HostwrightError {
  return new HostwrightError(`data dir ${dataDir} is locked, but no agent answers on ${controlSocketPath(dataDir)} (${errorMessage(cause)}); is another hostwright command running?`, { cause });
}
