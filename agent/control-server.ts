import { createServer, type Server, type ServerResponse } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import type { AgentLoop } from './agent-loop.js';
import type { Reconciler } from './reconciler.js';
import type { Journal } from './store/journal.js';

/** Where a running agent answers local CLI reads (its data dir is locked to everyone else). */
export function controlSocketPath(dataDir: string): string {
  return `${dataDir}/agent.sock`;
}

/**
 * A small HTTP API on a unix socket in the data dir, mode 0600 (for this user only): GET /v1/status
 * (fresh observation), GET /v1/events?after=N[&follow=1] (NDJSON), and POST /v1/retry?project=P
 * (lift a project's rejection: `hostwright retry --local`).
 */
export async function startControlServer(dataDir: string, reconciler: Reconciler, journal: Journal, logger: Logger, loop?: Pick<AgentLoop, 'retry'>): Promise<Server> {
  const path = controlSocketPath(dataDir);
  // We hold the data dir's lock, so a socket file left here is a dead agent's.
  await rm(path, { force: true });
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://agent');
    const handle = async () => {
      if (request.method === 'GET' && url.pathname === '/v1/status') return sendJson(response, 200, await reconciler.observeStatus());
      if (request.method === 'POST' && url.pathname === '/v1/retry' && loop) {
        try {
          return sendJson(response, 200, { hostId: reconciler.hostId, ...(await loop.retry(url.searchParams.get('project') ?? '')) });
        } catch (error) {
          if (error instanceof InvalidInputError) return sendJson(response, 404, { error: error.message });
          throw error;
        }
      }
      if (request.method === 'GET' && url.pathname === '/v1/events') return streamEvents(response, journal, Number(url.searchParams.get('after') ?? 0), url.searchParams.get('follow') === '1');
      return sendJson(response, 404, { error: `no route ${request.method} ${url.pathname}` });
    };
    handle().catch((error: unknown) => {
      logger.warn({ err: error }, 'control request failed');
      if (!response.headersSent) sendJson(response, 500, { error: errorMessage(error) });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // listen makes it 0777 & ~umask; connecting takes write permission, so 0600 admits this user only.
  try {
    await chmod(path, 0o600);
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  return server;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function streamEvents(response: ServerResponse, journal: Journal, after: number, follow: boolean): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/x-ndjson' });
  let cursor = after;
  const flush = async () => {
    for (;;) {
      const page = await journal.readEvents(cursor, 1000);
      for (const { seq: _seq, ...event } of page.events) response.write(`${JSON.stringify(event)}\n`);
      cursor = page.lastSeq;
      if (page.events.length === 0) return;
    }
  };
  await flush();
  if (!follow) {
    response.end();
    return;
  }
  let flushing: Promise<void> = Promise.resolve();
  const unsubscribe = journal.onEvents(() => {
    flushing = flushing.then(flush).catch(() => {
      response.end();
    });
  });
  response.on('close', unsubscribe);
}
