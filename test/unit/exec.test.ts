import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { limitEvents } from '../../agent/core/event-rate-limit.js';
import { DockerStreamDemuxer, ExecOutput } from '../../agent/core/exec-output.js';
import { execTarget } from '../../agent/core/exec-target.js';
import type { ObservedContainer } from '../../agent/core/snapshot.js';
import { execHostOf, parseExecTarget } from '../../coordinator/exec-target.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { EXEC_OUTPUT_WINDOW, EXEC_REPLY_BYTES, type ExecFrame } from '../../shared/exec-wire.js';
import type { StatusReport } from '../../shared/wire.js';

function container(name: string, fields: { project?: string; service?: string; instance?: number; state?: ObservedContainer['state']; owned?: boolean } = {}): ObservedContainer {
  return {
    id: `id-${name}`,
    name,
    state: fields.state ?? 'running',
    health: 'none',
    createdAt: 0,
    identity: { hostId: 'h1', project: fields.project ?? 'shop', service: fields.service ?? 'api', instance: fields.instance ?? 1, specHash: 's', ownerToken: 't' },
    ownership: fields.owned === false ? { owned: false, reason: 'no owner record' } : { owned: true },
    modifiedFields: [],
    restartCount: 0,
  };
}

/** Polls as the coordinator does, each acknowledging what came before; returns what arrived, in order. */
function drain(output: ExecOutput): { bytes: number[]; exit: number | null | undefined } {
  const bytes: number[] = [];
  let ack = 0;
  for (let polls = 0; polls < 10_000; polls += 1) {
    output.ack(ack);
    const { frames, exit } = output.from(ack);
    for (const frame of frames) {
      assert.equal(frame.seq, ack, 'frames arrive in order, none skipped');
      bytes.push(...frame.data);
      ack += 1;
    }
    if (exit) return { bytes, exit: exit.code };
    if (frames.length === 0) return { bytes, exit: undefined };
  }
  throw new Error('never drained');
}

describe('exec sessions (pure)', () => {
  it('output arrives whole and in order whatever the chunks, and the exit only after the last frame; a repeated poll gets the same frames', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 600_000 }), { maxLength: 6 }), fc.integer({ min: 0, max: 255 }), (chunks, code) => {
        const output = new ExecOutput();
        for (const chunk of chunks) output.push('stdout', chunk);
        output.end(code);
        const first = output.from(0);
        assert.deepEqual(output.from(0), first, 'a lost reply is sent again the same');
        const { bytes, exit } = drain(output);
        assert.deepEqual(Buffer.from(bytes), Buffer.concat(chunks));
        assert.equal(exit, code);
        for (const frame of first.frames) assert.ok(frame.data.byteLength <= EXEC_REPLY_BYTES);
      }),
      { numRuns: 30 },
    );
  });

  it('a window of unacknowledged output makes it full; acknowledging empties it', () => {
    const output = new ExecOutput();
    output.push('stderr', new Uint8Array(EXEC_OUTPUT_WINDOW));
    assert.equal(output.full, true);
    assert.equal(output.ready(0), true);
    const { frames } = output.from(0);
    output.ack((frames.at(-1) as ExecFrame).seq + 1);
    assert.equal(output.full, false, 'one reply acknowledged: below the window again');
    output.ack(1_000);
    assert.equal(output.ready(1_000), false);
    assert.deepEqual(output.totals, { stdout: 0, stderr: EXEC_OUTPUT_WINDOW });
  });

  it('Docker\'s multiplexed stream is split into stdout and stderr across any chunk boundary', () => {
    const frame = (kind: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = kind;
      header.writeUInt32BE(payload.byteLength, 4);
      return Buffer.concat([header, payload]);
    };
    const stream = Buffer.concat([frame(1, 'out-1 '), frame(2, 'err-1 '), frame(1, ''), frame(1, 'out-2')]);
    for (let cut = 0; cut <= stream.byteLength; cut += 1) {
      const seen: string[] = [];
      const demuxer = new DockerStreamDemuxer((kind, data) => seen.push(`${kind}:${Buffer.from(data).toString()}`));
      demuxer.write(stream.subarray(0, cut));
      demuxer.write(stream.subarray(cut));
      assert.deepEqual(seen, ['stdout:out-1 ', 'stderr:err-1 ', 'stdout:out-2'], `cut at ${cut}`);
    }
  });

  it('the agent picks a running container it owns: the instance asked for, or the lowest-numbered running one', () => {
    const containers = [container('api-2', { instance: 2 }), container('api-1', { instance: 1, state: 'exited' }), container('db-1', { service: 'db' })];
    assert.equal((execTarget(containers, { service: 'api' }) as ObservedContainer).name, 'api-2');
    assert.match(execTarget(containers, { service: 'api', instance: 1 }) as string, /^container api-1 is exited, not running$/);
    assert.match(execTarget(containers, { service: 'api', instance: 3 }) as string, /has no instance 3 on this host \(it has 1, 2\)/);
    assert.match(execTarget(containers, { service: 'web' }) as string, /^no container of service web on this host$/);
    assert.match(execTarget([container('x', { owned: false })], { service: 'api' }) as string, /is not this agent's \(no owner record\); exec runs only in containers the agent owns/);
    const twoProjects = [container('a', { project: 'shop' }), container('b', { project: 'blog' })];
    assert.match(execTarget(twoProjects, { service: 'api' }) as string, /is in projects blog, shop on this host: pass --project/);
    assert.equal((execTarget(twoProjects, { service: 'api', project: 'blog' }) as ObservedContainer).name, 'b');
  });

  it('SERVICE[/N] is parsed, and the host found from the status or asked for', () => {
    assert.deepEqual(parseExecTarget('api'), { service: 'api' });
    assert.deepEqual(parseExecTarget('api/2'), { service: 'api', instance: 2 });
    for (const bad of ['api/0', 'api/x', 'a/b/c', '', 'api/']) assert.throws(() => parseExecTarget(bad), /is not SERVICE or SERVICE\/N|expected a number from 1/, bad);
    const report = (hostId: string, instances: number[]): StatusReport => ({ hostId, reportedAt: 't', agentVersion: 'v', outboxDepth: 0, status: { projects: [{ project: 'shop', instances: instances.map((instance) => ({ project: 'shop', service: 'api', instance })) }] } }) as unknown as StatusReport;
    assert.equal(execHostOf([report('h1', [1]), report('h2', [])], { service: 'api' }, undefined), 'h1');
    assert.throws(() => execHostOf([report('h2', [1]), report('h1', [1])], { service: 'api' }, undefined), /service api runs on h1, h2: pass --host/);
    assert.equal(execHostOf([report('h2', [1]), report('h1', [2])], { service: 'api', instance: 2 }, undefined), 'h1');
    assert.throws(() => execHostOf([report('h1', [1])], { service: 'api' }, 'blog'), /no host's status lists service api of project blog/);
  });

  it('exec events are never rate-limited away: each session is audited', () => {
    const exec = (n: number): HostwrightEvent => ({ id: `x${n}`, type: 'exec', severity: 'info', hostId: 'h1', project: 'shop', service: 'api', instance: 1, message: 'exec', timestamp: 't', correlationID: 'c' });
    const events = Array.from({ length: 25 }, (_, n) => exec(n));
    assert.equal(limitEvents(new Map(), events, 0, { perWindow: 3, windowMs: 60_000 }).events.length, 25);
  });
});
