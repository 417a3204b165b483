import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogSession, type OwnedInstance } from '../../agent/fleet/log-session.js';
import { decode } from '../../shared/codec.js';
import { logChunkSchema, type LogChunk, type LogLine, type LogRequest } from '../../shared/log-stream.js';
import { sleep } from '../../shared/sleep.js';
import { TEST_IMAGE, uniqueName } from '../lib/builders.js';
import { docker } from '../lib/docker-harness.js';
import { waitFor } from '../lib/wait.js';

// A counter as fast as the shell prints: lines of equal engine timestamps are likely.
const FAST_COUNTER = ['sh', '-c', "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo \"c $i\"; if [ $((i % 500)) -eq 0 ]; then sleep 0.01; fi; done"];

function counterValues(lines: readonly LogLine[]): number[] {
  return lines.map((line) => Number(/^c (\d+)$/.exec(line.text)?.[1]));
}

function assertContinuous(values: readonly number[]): void {
  for (let i = 1; i < values.length; i += 1) assert.equal(values[i], (values[i - 1] as number) + 1, `after ${values[i - 1]} came ${values[i]}`);
}

// The agent's side of `hostwright logs` against the real engine: what one session sends for credit.
describe('log session: a container read through the engine in chunks, only as fast as credit is granted (real Docker)', () => {
  const name = uniqueName('hw-logsession');
  let containerId: string;

  before(async () => {
    const container = await docker.createContainer({ name, Image: TEST_IMAGE, Cmd: FAST_COUNTER, HostConfig: { LogConfig: { Type: 'json-file', Config: {} } } });
    containerId = container.id;
    await container.start();
    await sleep(1_500);
  });

  after(async () => {
    await docker.getContainer(containerId).remove({ force: true }).catch(() => undefined);
  });

  const open = (request: Partial<LogRequest>, owned: OwnedInstance[]) => {
    const chunks: LogChunk[] = [];
    const sizes: number[] = [];
    const session = new LogSession(
      { session: uniqueName('s'), project: 'p', service: 'web', follow: false, restart: false, offsets: [], credit: 4, ...request },
      {
        hostId: 'h1',
        docker,
        ownedInstances: async () => owned,
        publish: (_subject, data) => {
          sizes.push(data.byteLength);
          chunks.push(decode(logChunkSchema, data, 'chunk'));
        },
        maxPayload: () => 64 * 1024,
        now: () => new Date(),
      },
    );
    // The request that opens a session grants its first credit (agent/fleet/log-requests.ts).
    session.grant('inbox', request.credit ?? 4, Date.now());
    return { session, chunks, sizes, lines: () => chunks.flatMap((chunk) => chunk.entries.filter((entry): entry is LogLine => entry.kind === 'line')) };
  };

  it('stops reading without credit, goes on with each grant, and with -f passes from history to live lines with none lost or repeated', async () => {
    const { session, chunks, sizes, lines } = open({ follow: true, credit: 2 }, [{ instance: 1, containerId, running: true }]);
    const running = session.run();
    await waitFor('two chunks', async () => chunks.length === 2, 10_000, 20);
    await sleep(300);
    assert.equal(chunks.length, 2, 'nothing more without credit');
    for (let grant = 0; grant < 40; grant += 1) {
      session.grant('inbox', 8, Date.now());
      await waitFor(`chunks of grant ${grant}`, async () => chunks.length === 2 + (grant + 1) * 8, 10_000, 5);
    }
    assert.ok(chunks.some((chunk) => chunk.caughtUp), 'the history ended and live lines followed');
    assert.deepEqual(chunks.map((chunk) => chunk.seq), chunks.map((_, index) => index + 1));
    assert.ok(Math.max(...sizes) <= 64 * 1024, `each chunk within the server's max payload: ${Math.max(...sizes)} bytes`);
    session.close();
    await running;
    const values = counterValues(lines());
    assert.equal(values[0], 1);
    assertContinuous(values);
  });

  it('resumes after an offset: the next line, even among lines of the same timestamp', async () => {
    const first = open({ follow: false, credit: 32, tail: 3000 }, [{ instance: 1, containerId, running: true }]);
    await first.session.run();
    const seen = first.lines();
    assert.ok(seen.length >= 3000, `${seen.length} lines`);
    const cut = seen[1000] as LogLine;
    const second = open({ follow: false, credit: 32, offsets: [{ instance: 1, containerId, time: cut.time, index: cut.index }], until: seen.at(-1)?.time }, [{ instance: 1, containerId, running: true }]);
    await second.session.run();
    const resumed = counterValues(second.lines());
    assert.equal(resumed[0], counterValues([cut])[0] as number + 1, 'the line right after the offset');
    assert.equal(resumed.at(-1), counterValues(seen).at(-1));
    assertContinuous(resumed);
  });

  it('reads only the instances it is given (the ones the agent owns): none, nothing', async () => {
    const { session, chunks } = open({ follow: false }, []);
    await session.run();
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0]?.entries, []);
    assert.equal(chunks[0]?.end, true);
  });
});
