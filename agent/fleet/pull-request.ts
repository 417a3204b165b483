import { newerSchemaRefusal } from '../../shared/desired-schema.js';
import { errorMessage } from '../../shared/errors.js';
import { HOST_PROJECT } from '../../shared/events.js';
import { pullRequestSchema, type PullReply } from '../../shared/wire.js';
import type { AgentDaemon } from '../daemon.js';
import { failedEvent } from '../host-events.js';
import { candidateOf } from './candidate.js';
import type { RequestGuard } from './request-guard.js';

/**
 * Answers a pull request (hw.rpc.<hostId>.pull): the candidate revision's images this host lacks are
 * pulled between two cycles, each pull journaled, with progress in the status while it lasts. The
 * candidate is never stored or applied, and a pull starts, stops or removes no container; but it
 * makes the host contact a registry, so the request is admitted like desired state (RequestGuard:
 * signed, for this host, fresh, single-use). A request refused or that cannot be read is answered
 * with an error and recorded as a failed event.
 */
export async function answerPullRequest(daemon: AgentDaemon, guard: RequestGuard, data: Uint8Array): Promise<PullReply> {
  const { hostId, journal } = daemon.host;
  try {
    const request = await guard.admit(data, pullRequestSchema, 'pull request', Date.now(), (bytes) => {
      const refusal = newerSchemaRefusal(candidateOf(bytes));
      if (refusal) throw new Error(`the candidate is ${refusal}`);
    });
    if (request.candidate.hostId !== hostId) throw new Error(`candidate is for host ${request.candidate.hostId}, not ${hostId}`);
    const report = await daemon.loop.prePull(request.candidate, request.correlationID);
    return {
      ok: true,
      hostId,
      project: report.project,
      pulled: report.results.map((result) => ({ image: result.action.image, outcome: result.outcome === 'failed' ? 'failed' : 'pulled', message: result.message, durationMs: result.durationMs })),
      present: [...report.present],
      blocked: report.blocks.map((block) => `${block.gate}: ${block.message}`),
    };
  } catch (error) {
    await journal.appendEvents([failedEvent({ hostId, project: HOST_PROJECT, message: `rejected a pull request: ${errorMessage(error)}` })]).catch(() => undefined);
    return { ok: false, hostId, error: errorMessage(error) };
  }
}
