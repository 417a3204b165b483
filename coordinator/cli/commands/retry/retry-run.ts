import { randomUUID } from 'node:crypto';
import { DataDirLockedError, HostwrightError } from '../../../../shared/errors.js';
import type { RetryReply } from '../../../../shared/wire.js';
import { withFleet } from '../../../fleet-session.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { openLocalHost } from '../../local-host.js';
import { postAgentRetry } from '../../local-agent-client.js';
import { defaultDataDir, type FleetTarget } from '../../options.js';
import { parseTimeout } from '../../parse.js';
import { usePrivateUmask } from '../../private-umask.js';
import { printable, printableJson } from '../../render/printable.js';
import type { RetryOptions } from './options.js';

type RetryDone = Extract<RetryReply, { ok: true }>;

/** `retry --host H --project P`: asks the host's agent (over its own retry subject) to try the project's revision again. */
export async function retryOnFleet(target: FleetTarget, hostId: string, options: RetryOptions): Promise<void> {
  const timeoutMs = parseTimeout(options.timeout, '--timeout');
  const reply = await withFleet(target, async (client) => {
    requireKnownHost('--host', hostId, await client.knownHostIds());
    return client.requestRetry(hostId, options.project, randomUUID(), timeoutMs);
  }, { keyFile: options.signingKey });
  if (!reply) throw new HostwrightError(`host ${hostId} did not answer within ${options.timeout} (is its agent running and connected?)`);
  if (!reply.ok) throw new HostwrightError(`host ${reply.hostId} refused the retry: ${reply.error}`);
  report(reply, options);
}

/**
 * `retry --local --project P`: a running local agent (it holds the data dir) is asked over its
 * control socket; otherwise the rejection is lifted in the journal, for the next agent start or apply.
 */
export async function retryLocal(options: RetryOptions): Promise<void> {
  usePrivateUmask();
  let host;
  try {
    host = await openLocalHost(options);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    const dataDir = options.dataDir ?? defaultDataDir();
    return report({ ok: true, ...(await postAgentRetry(dataDir, options.project)) }, options);
  }
  try {
    const document = (await host.journal.desiredDocuments()).find((candidate) => candidate.project === options.project);
    if (!document) throw new HostwrightError(`project ${options.project} has no desired state here (apply it first)`);
    const rejection = (await host.journal.rejectedRevisions()).get(options.project);
    if (rejection) await host.journal.setRejected({ project: options.project });
    const rejected = rejection?.revision === document.revision ? { revision: rejection.revision, reason: rejection.reason } : undefined;
    report({ ok: true, hostId: host.hostId, project: options.project, ...(rejected ? { rejected } : {}) }, options);
  } finally {
    await host.close();
  }
}

function report(reply: RetryDone, options: RetryOptions): void {
  if (options.json) {
    process.stdout.write(`${printableJson({ schema: 'hostwright.retry/v1', hostId: reply.hostId, project: reply.project, rejected: reply.rejected ?? null, backoff: reply.backoff ?? null }, 2)}\n`);
    return;
  }
  const where = `${printable(reply.hostId)}: ${printable(reply.project)}`;
  const lifted = reply.rejected
    ? `rejection of revision ${reply.rejected.revision} lifted (it was: ${printable(reply.rejected.reason)})`
    : reply.backoff
      ? `backoff after ${reply.backoff.attempts} failed attempt(s) cut short (last: ${printable(reply.backoff.reason)})`
      : 'was neither rejected nor backing off';
  process.stdout.write(`${where}: ${lifted}; the agent tries it again now (see \`hostwright events\`).\n`);
}
