import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUnanswered, retryUnanswered } from '../../shared/nats-connection.js';

/** An error as nats.js makes it (the names are those of @nats-io/transport-node and @nats-io/jetstream). */
function natsError(name: string, message: string, cause?: Error): Error {
  const error = new Error(message, cause ? { cause } : undefined);
  error.name = name;
  return error;
}

describe('requests NATS did not answer', () => {
  it('a timeout and a JetStream request without responder are unanswered, also as a cause', () => {
    assert.equal(isUnanswered(natsError('TimeoutError', 'timeout')), true);
    // What a KV write gets while a cluster elects the stream's leader after a node died.
    assert.equal(isUnanswered(natsError('JetStreamNotEnabled', 'jetstream is not enabled')), true);
    assert.equal(isUnanswered(new Error('write failed', { cause: natsError('TimeoutError', 'timeout') })), true);
  });

  it('a compare-and-set conflict and other errors are answers', () => {
    assert.equal(isUnanswered(natsError('JetStreamApiError', 'wrong last sequence: 7')), false);
    assert.equal(isUnanswered(new Error('permissions violation')), false);
    assert.equal(isUnanswered('timeout'), false);
  });

  it('retryUnanswered tries an unanswered request again and gives up on an answer', async () => {
    let calls = 0;
    const value = await retryUnanswered(async () => {
      calls += 1;
      if (calls === 1) throw natsError('JetStreamNotEnabled', 'jetstream is not enabled');
      return 'ok';
    });
    assert.deepEqual({ value, calls }, { value: 'ok', calls: 2 });
    calls = 0;
    await assert.rejects(retryUnanswered(async () => {
      calls += 1;
      throw natsError('JetStreamApiError', 'wrong last sequence: 7');
    }), /wrong last sequence/);
    assert.equal(calls, 1);
  });
});
