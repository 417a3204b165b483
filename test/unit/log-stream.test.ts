import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ownedInstancesOf } from '../../agent/fleet/log-requests.js';
import type { ObservedContainer, RuntimeSnapshot } from '../../agent/core/snapshot.js';
import { entryPrefix, parseServiceSelector, parseTail, parseTimeFlag, renderEntry } from '../../coordinator/cli/commands/logs/log-output.js';
import { accountsConfig, hostPermissions, logsReaderPublish, coordinatorPermissions } from '../../coordinator/nats-auth.js';
import { TimeMerge } from '../../shared/log-merge.js';
import { LogLineSplitter, RecentLines, chunkBudget, compareEntries, engineTimeParameter, isAfterOffset, logRequestSchema, normalizeEngineTime, parseLogTime, type LogEntry } from '../../shared/log-stream.js';
import { logsRpcSubject } from '../../shared/subjects.js';

const ID = 'a'.repeat(64);

describe('logs wire and offsets (pure)', () => {
  it('normalizes the engine\'s RFC3339Nano times to nine digits, so strings sort by time', () => {
    assert.equal(normalizeEngineTime('2026-12-07T11:41:52.1Z'), '2026-12-07T11:41:52.100000000Z');
    assert.equal(normalizeEngineTime('2026-12-07T11:41:52Z'), '2026-12-07T11:41:52.000000000Z');
    assert.equal(normalizeEngineTime('2026-12-07T11:41:52.123456789Z'), '2026-12-07T11:41:52.123456789Z');
    assert.equal(normalizeEngineTime('2026-12-07 11:41:52'), undefined);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.integer({ min: 0, max: 999_999 }), (ms1, ns1, ms2, ns2) => {
        const engine = (ms: number, ns: number) => `${new Date(ms).toISOString().slice(0, 23)}${String(ns).padStart(6, '0')}`.replace(/0+$/, '').replace(/\.$/, '') + 'Z';
        const a = normalizeEngineTime(engine(ms1, ns1)) as string;
        const b = normalizeEngineTime(engine(ms2, ns2)) as string;
        assert.equal(Math.sign(a.localeCompare(b)), Math.sign(ms1 - ms2 || ns1 - ns2));
      }),
    );
  });

  it('passes times to the engine as Unix seconds with nanoseconds, and reads --since/--until as a duration or a timestamp', () => {
    assert.equal(engineTimeParameter('1970-01-01T00:00:10.000000042Z'), '10.000000042');
    const now = new Date('2026-12-07T12:00:00.000Z');
    assert.equal(parseLogTime('10m', now), '2026-12-07T11:50:00.000000000Z');
    assert.equal(parseLogTime('1d', now), '2026-12-06T12:00:00.000000000Z');
    assert.equal(parseLogTime('2026-12-07T11:00:00Z', now), '2026-12-07T11:00:00.000000000Z');
    assert.equal(parseLogTime('2026-12-07T12:00:00+01:00', now), '2026-12-07T11:00:00.000000000Z');
    assert.equal(parseLogTime('yesterday', now), undefined);
    assert.throws(() => parseTimeFlag('--until', 'soon', now), /--until soon: expected a duration back from now/);
    assert.equal(parseTail('all'), undefined);
    assert.equal(parseTail('20'), 20);
    assert.throws(() => parseTail('-1'), /--tail -1: expected a number of lines/);
  });

  it('splits the engine\'s lines with their index among lines of one time; drops the line the engine sends again at a rotation', () => {
    const splitter = new LogLineSplitter(2, ID);
    const t = '2026-12-07T11:41:52.1Z';
    const first = splitter.push(`${t} one\n${t} two\n2026-12-07T11:41:52.2Z thr`, 'stdout');
    assert.deepEqual(first.map((line) => [line.text, line.index, line.time]), [['one', 0, '2026-12-07T11:41:52.100000000Z'], ['two', 1, '2026-12-07T11:41:52.100000000Z']]);
    const second = splitter.push('ee\n2026-12-07T11:41:52.2Z three\n', 'stdout');
    assert.deepEqual(second.map((line) => [line.text, line.index]), [['three', 0]], 'the repeated "three" is dropped');
    assert.deepEqual(splitter.push('2026-12-07T11:41:52.2Z three\n', 'stderr').map((line) => [line.text, line.index, line.stream]), [['three', 1, 'stderr']], 'the same text on the other stream is a line of its own');
    assert.deepEqual(splitter.flush('stdout'), []);
    assert.deepEqual(splitter.push('2026-12-07T11:41:53Z no newline', 'stdout'), []);
    assert.deepEqual(splitter.flush('stdout').map((line) => line.text), ['no newline']);
  });

  it('a line is after an offset when it is later, or of the same time with a higher index, or of another container', () => {
    const offset = { instance: 1, containerId: ID, time: '2026-12-07T11:41:52.100000000Z', index: 1 };
    assert.equal(isAfterOffset({ containerId: ID, time: offset.time, index: 1 }, offset), false);
    assert.equal(isAfterOffset({ containerId: ID, time: offset.time, index: 2 }, offset), true);
    assert.equal(isAfterOffset({ containerId: ID, time: '2026-12-07T11:41:52.099999999Z', index: 9 }, offset), false);
    assert.equal(isAfterOffset({ containerId: 'b'.repeat(64), time: '2020-01-01T00:00:00.000000000Z', index: 0 }, offset), true);
    assert.equal(isAfterOffset({ containerId: ID, time: offset.time, index: 0 }, undefined), true);
  });

  it('chunks fit the server\'s max payload; a request is checked at the boundary', () => {
    assert.ok(chunkBudget(1024 * 1024) <= 1024 * 1024 - 1024);
    assert.ok(chunkBudget(64 * 1024) < 64 * 1024);
    const request = { session: 'abcdefgh-1', project: 'p', service: 'web', follow: true, restart: false, offsets: [], credit: 8 };
    assert.equal(logRequestSchema.safeParse(request).success, true);
    assert.equal(logRequestSchema.safeParse({ ...request, credit: 1000 }).success, false, 'no more credit than a host may answer one request with');
    assert.equal(logRequestSchema.safeParse({ ...request, service: '../etc' }).success, false);
  });
});

describe('time merge (pure)', () => {
  const entry = (time: number, instance = 1): LogEntry => ({ kind: 'line', instance, containerId: ID, time: `2026-12-07T11:41:52.${String(time).padStart(9, '0')}Z`, index: 0, stream: 'stdout', text: String(time) });

  it('merges sources that are each in time order into one in time order, whatever the arrival order of their pieces', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 999_999_999 }), { maxLength: 30 }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 200 }), (sources, schedule) => {
        const sorted = sources.map((times, index) => [...times].sort((a, b) => a - b).map((time) => entry(time, index + 1)));
        const merge = new TimeMerge<number, LogEntry>(compareEntries);
        sorted.forEach((_, index) => merge.add(index));
        const next = sorted.map(() => 0);
        const out: LogEntry[] = [];
        for (const pick of [...schedule, ...sorted.flatMap((times, index) => times.map(() => index))]) {
          const index = pick % sorted.length;
          const source = sorted[index] as LogEntry[];
          if ((next[index] as number) < source.length) merge.push(index, [source[next[index] as number] as LogEntry]);
          next[index] = (next[index] as number) + 1;
          if ((next[index] as number) >= source.length) merge.finish(index);
          out.push(...merge.take());
        }
        sorted.forEach((_, index) => merge.finish(index));
        out.push(...merge.take());
        assert.ok(merge.done());
        assert.equal(out.length, sorted.flat().length);
        for (let i = 1; i < out.length; i += 1) assert.ok(compareEntries(out[i - 1] as LogEntry, out[i] as LogEntry) <= 0);
      }),
    );
  });

  it('waits for a source with nothing yet, unless it does not count (a host not answering)', () => {
    const merge = new TimeMerge<string, LogEntry>(compareEntries);
    merge.add('h1');
    merge.add('h2');
    merge.push('h1', [entry(5)]);
    assert.deepEqual(merge.take(), []);
    merge.setCounted('h2', false);
    assert.deepEqual(merge.take().map((e) => e.time.slice(20, 29)), ['000000005']);
    assert.equal(merge.waiting('h1'), 0);
  });
});

describe('logs: who may read, what is read, how it shows (pure)', () => {
  const container = (fields: Partial<ObservedContainer> & { id: string; instance: number }): ObservedContainer => ({
    id: fields.id,
    name: `c-${fields.id}`,
    state: fields.state ?? 'running',
    health: 'none',
    createdAt: fields.createdAt ?? 1,
    identity: { hostId: 'h1', project: fields.identity?.project ?? 'p', service: fields.identity?.service ?? 'web', instance: fields.instance, specHash: 'x', ownerToken: 't' },
    ownership: fields.ownership ?? { owned: true },
    modifiedFields: [],
    restartCount: 0,
  });

  it('reads only owned containers of the project and service asked, one per instance (a running one, the newest)', () => {
    const snapshot = {
      containers: [
        container({ id: 'a1', instance: 1, createdAt: 1, state: 'exited' }),
        container({ id: 'a2', instance: 1, createdAt: 2 }),
        container({ id: 'b1', instance: 2, ownership: { owned: false, reason: 'copied labels' } }),
        container({ id: 'c1', instance: 3, identity: { hostId: 'h1', project: 'other', service: 'web', instance: 3, specHash: 'x', ownerToken: 't' } }),
        container({ id: 'd1', instance: 4 }),
      ],
    } as unknown as RuntimeSnapshot;
    assert.deepEqual(ownedInstancesOf(snapshot, 'p', 'web', undefined), [{ instance: 1, containerId: 'a2', running: true }, { instance: 4, containerId: 'd1', running: true }]);
    assert.deepEqual(ownedInstancesOf(snapshot, 'p', 'web', 4).map((owned) => owned.containerId), ['d1']);
    assert.deepEqual(ownedInstancesOf(snapshot, 'p', 'web', 2), [], 'not proved owned: not readable');
  });

  it('a host may receive only its own logs requests; the coordinator sends them as one named permission', () => {
    assert.ok(hostPermissions('h1').subscribe.includes(logsRpcSubject('h1')));
    assert.ok(!hostPermissions('h1').publish.some((subject) => subject.includes('.logs')));
    assert.deepEqual(logsReaderPublish(), ['hw.rpc.*.logs']);
    for (const subject of logsReaderPublish()) assert.ok(coordinatorPermissions(['h1']).publish.includes(subject));
    const config = accountsConfig({ schema: 'hostwright.fleet-auth/v1', coordinator: { publicKey: `U${'C'.repeat(55)}` }, signingPublicKey: `O${'S'.repeat(55)}`, hosts: [{ hostId: 'h1', publicKey: `U${'H'.repeat(55)}` }] });
    assert.match(config, /\{ service: "hw\.rpc\.h1\.logs", accounts: \["HOSTWRIGHT"\], response_type: "stream", response_threshold: "15m" \}/);
    assert.match(config, /\{ service: \{ account: "HOST_h1", subject: "hw\.rpc\.h1\.logs" \} \}/);
  });

  it('SERVICE[/N] arguments, and lines as `docker compose logs` shows them', () => {
    assert.deepEqual(parseServiceSelector('web'), { service: 'web' });
    assert.deepEqual(parseServiceSelector('web/2'), { service: 'web', instance: 2 });
    assert.throws(() => parseServiceSelector('web/0'), /expected SERVICE or SERVICE\/N/);
    assert.throws(() => parseServiceSelector('Web!'), /expected SERVICE or SERVICE\/N/);
    assert.equal(entryPrefix({ hostId: 'h1', service: 'web' }, 2, false), 'h1/2');
    assert.equal(entryPrefix({ hostId: 'h1', service: 'web' }, 2, true), 'h1/web/2');
    const line: LogEntry = { kind: 'line', instance: 2, containerId: ID, time: '2026-12-07T11:41:52.100000000Z', index: 0, stream: 'stderr', text: 'hello\u001b[31m' };
    assert.equal(renderEntry({ hostId: 'h1', service: 'web' }, line, { withService: false, timestamps: false, width: 6 }), 'h1/2   | hello\\x1b[31m');
    assert.equal(renderEntry({ hostId: 'h1', service: 'web' }, line, { withService: false, timestamps: true, width: 4 }), 'h1/2 | 2026-12-07T11:41:52.100000000Z hello\\x1b[31m');
    assert.equal(renderEntry({ hostId: 'h1', service: 'web' }, { kind: 'marker', instance: 2, time: line.time, text: 'replaced' }, { withService: false, timestamps: false, width: 4 }), 'h1/2 | -- replaced --');
  });
});

describe('RecentLines', () => {
  it('drops a line that comes again with another index, keeps distinct ones, and forgets the oldest past its capacity', () => {
    const recent = new RecentLines(3);
    const line = { containerId: 'c'.repeat(64), time: '2026-12-07T13:32:38.601442527Z', stream: 'stdout' as const, text: '100' };
    assert.equal(recent.repeated(line), false);
    assert.equal(recent.repeated({ ...line }), true, 'the same line again');
    assert.equal(recent.repeated({ ...line, stream: 'stderr' }), false, 'another stream is another line');
    assert.equal(recent.repeated({ ...line, time: '2026-12-07T13:32:38.601442528Z' }), false, 'another time is another line');
    assert.equal(recent.repeated({ ...line, text: '101' }), false);
    assert.equal(recent.repeated(line), false, 'forgotten once three newer lines were kept');
  });
});
