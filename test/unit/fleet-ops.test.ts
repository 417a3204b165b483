import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cordonSkips } from '../../coordinator/cordon.js';
import type { DesiredEntry } from '../../coordinator/fleet-client.js';
import { fleetTargets } from '../../coordinator/fleet-targets.js';
import { coordinatorPermissions, hostPermissions } from '../../coordinator/nats-auth.js';
import { removalTargets } from '../../coordinator/project-removal.js';
import { psRows, renderPs, uptime } from '../../coordinator/cli/fleet/fleet-ps.js';
import { placementHosts } from '../../coordinator/fleet-session.js';
import { HostwrightError } from '../../shared/errors.js';
import { renderHosts } from '../../coordinator/cli/render/hosts-view.js';
import { InvalidInputError } from '../../shared/errors.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';
import { effectiveLabels, emptyHostControl, hostControlSchema, parseLabelChanges, withLabelChanges } from '../../shared/host-control.js';
import { isGone, type ProjectStatus } from '../../shared/host-status.js';
import type { StatusReport } from '../../shared/wire.js';

const fleet = fleetFileSchema.parse({
  project: 'shop',
  services: {
    web: { image: 'hw/busybox:test', ports: ['8080:80'], placement: { selector: { role: 'web' } } },
    db: { image: 'hw/busybox:test', placement: { hosts: ['h2'] } },
  },
});
const hosts = [
  { hostId: 'h1', labels: { role: 'web' } },
  { hostId: 'h2', labels: { role: 'web' } },
];

describe('host labels set by the coordinator', () => {
  it('parses key=value and key-, and refuses anything else naming the form', () => {
    assert.deepEqual(parseLabelChanges(['role=web', 'zone=a=b', 'old-']), [{ key: 'role', value: 'web' }, { key: 'zone', value: 'a=b' }, { key: 'old', remove: true }]);
    assert.throws(() => parseLabelChanges(['role']), (error: unknown) => error instanceof InvalidInputError && /key=value to set a label, or key- to remove it/.test(error.message));
    assert.throws(() => parseLabelChanges(['=web']), /not a label key/);
    assert.throws(() => parseLabelChanges([]), /at least one change/);
  });

  it('applies changes in order, sorted by key; the coordinator\'s label wins over the agent\'s on the same key', () => {
    const labels = withLabelChanges({ zone: 'a' }, parseLabelChanges(['role=web', 'zone-', 'role=db']));
    assert.deepEqual(labels, { role: 'db' });
    const control = { ...emptyHostControl('h1', '2026-01-01T00:00:00.000Z'), labels };
    assert.ok(hostControlSchema.safeParse(control).success);
    assert.deepEqual(effectiveLabels({ role: 'web', disk: 'ssd' }, control), { role: 'db', disk: 'ssd' });
    assert.deepEqual(effectiveLabels({ role: 'web' }, undefined), { role: 'web' });
  });

  it('a label change moves exactly the services whose selector now matches another host; the others learn where it went', () => {
    const before = fleetTargets(fleet, hosts, new Map(), 'c1');
    const existing = new Map<string, DesiredEntry>(before.map((t) => [t.hostId, { document: t.document, kvRevision: 1 }]));
    const relabelled = [{ hostId: 'h1', labels: effectiveLabels(hosts[0]?.labels ?? {}, { ...emptyHostControl('h1', 'now'), labels: { role: 'db' } }) }, hosts[1] as { hostId: string; labels: Record<string, string> }];
    const after = fleetTargets(fleet, relabelled, existing, 'c2');
    assert.deepEqual(before.map((t) => t.document.remotes), [{ db: { h2: {} }, web: { h2: {} } }, { web: { h1: {} } }]);
    // h2 runs the same services, but no longer takes web's endpoints from h1 (remotes: none left).
    assert.deepEqual(after.map((t) => [t.hostId, Object.keys(t.document.services), t.changed, t.document.remotes]), [
      ['h1', [], true, undefined],
      ['h2', ['db', 'web'], true, undefined],
    ]);
  });
});

describe('cordoned hosts', () => {
  it('placement reads the registrations with the coordinator\'s labels over them and its cordons; a control that failed its checks stops it', () => {
    const registration = (hostId: string, labels: Record<string, string>) => ({ hostId, labels, agentVersion: '1', startedAt: 's', heartbeatAt: 'h' });
    const control = { ...emptyHostControl('h2', 'now'), labels: { role: 'db' }, cordon: { reason: 'rack move', at: 'now' } };
    const placed = placementHosts([registration('h1', { role: 'web' }), registration('h2', { role: 'web', zone: 'a' })], { controls: new Map([['h2', { control, kvRevision: 3 }]]), refused: [] });
    assert.deepEqual(placed.hosts, [{ hostId: 'h1', labels: { role: 'web' } }, { hostId: 'h2', labels: { role: 'db', zone: 'a' } }]);
    assert.deepEqual([...placed.cordons], [['h2', { reason: 'rack move' }]]);
    assert.throws(() => placementHosts([registration('h1', {})], { controls: new Map(), refused: [{ hostId: 'h1', kvRevision: 2, reason: 'signed by UX…, not by the pinned coordinator key' }] }), (error: unknown) => error instanceof HostwrightError && /refusing to place: the cordon and labels of host h1 \(signed by/.test(error.message));
  });

  const cordons = new Map([['h1', { reason: 'disk swap' }]]);

  it('a selector skips a cordoned host for a new placement, and plan says which services', () => {
    const targets = fleetTargets(fleet, hosts, new Map(), 'c1', { cordons });
    assert.deepEqual(targets.map((t) => [t.hostId, Object.keys(t.document.services)]), [['h2', ['db', 'web']]]);
    assert.deepEqual(cordonSkips(fleet, hosts, new Map(), cordons), [{ hostId: 'h1', reason: 'disk swap', services: ['web'] }]);
  });

  it('what already runs on a cordoned host stays (and takes updates); only new services are left out', () => {
    const before = fleetTargets(fleet, hosts, new Map(), 'c1');
    const existing = new Map<string, DesiredEntry>(before.map((t) => [t.hostId, { document: t.document, kvRevision: 1 }]));
    const updated = fleetFileSchema.parse({ ...fleet, services: { ...fleet.services, web: { ...fleet.services.web, image: 'hw/busybox:test2' }, api: { image: 'hw/busybox:test', placement: { selector: { role: 'web' } } } } });
    const h1 = fleetTargets(updated, hosts, existing, 'c2', { cordons }).find((t) => t.hostId === 'h1');
    assert.deepEqual(h1 && [Object.keys(h1.document.services), h1.document.services.web?.image, h1.changed, h1.cordon], [['web'], 'hw/busybox:test2', true, { reason: 'disk swap', skipped: ['api'] }]);
    assert.deepEqual(cordonSkips(updated, hosts, existing, cordons), [{ hostId: 'h1', reason: 'disk swap', services: ['api'] }]);
  });

  it('a placement naming a cordoned host by id is refused, naming the cordon, its reason and uncordon', () => {
    assert.throws(
      () => fleetTargets(fleet, hosts, new Map(), 'c1', { cordons: new Map([['h2', { reason: 'kernel update' }]]) }),
      (error: unknown) => error instanceof InvalidInputError && /places db on host h2 by name, but h2 is cordoned \(kernel update\)/.test(error.message) && /hostwright hosts uncordon h2/.test(error.message),
    );
  });
});

const project = (fields: Partial<ProjectStatus>): ProjectStatus => ({ project: 'shop', desiredRevision: 3, appliedRevision: 3, converged: true, pendingActions: 0, instances: [], unowned: [], blocked: [], ...fields });

describe('down and removed projects', () => {
  it('writes every host holding the project an empty, allowEmpty document at the next revision; one already empty is unchanged', () => {
    const before = fleetTargets(fleet, hosts, new Map(), 'c1');
    const existing = new Map<string, DesiredEntry>(before.map((t) => [t.hostId, { document: t.document, kvRevision: 4 }]));
    const targets = removalTargets('shop', existing, 'c2');
    assert.deepEqual(targets.map((t) => [t.hostId, Object.keys(t.document.services), t.document.allowEmpty, t.document.revision, t.changed, t.kvRevision]), [
      ['h1', [], true, 2, true, 4],
      ['h2', [], true, 2, true, 4],
    ]);
    const again = removalTargets('shop', new Map(targets.map((t) => [t.hostId, { document: t.document, kvRevision: 5 }])), 'c3');
    assert.deepEqual(again.map((t) => [t.changed, t.document.revision]), [[false, 2], [false, 2]]);
    const damaged = removalTargets('shop', new Map([['h1', { document: targets[0]?.document ?? before[0]!.document, kvRevision: 5, damaged: true }]]), 'c4');
    assert.deepEqual(damaged.map((t) => [t.changed, t.document.revision]), [[true, 3]]);
  });

  it('a removed project is gone from status only once nothing of it is left on the host', () => {
    assert.equal(isGone(project({ removed: true })), true);
    assert.equal(isGone(project({})), false, 'a project scaled to nothing is still a project');
    assert.equal(isGone(project({ removed: true, converged: false, pendingActions: 2 })), false);
    assert.equal(isGone(project({ removed: true, instances: [{ project: 'shop', service: 'web', instance: 1, name: 'shop-web-1', state: 'running', health: 'none', drift: [] }] })), false);
    assert.equal(isGone(project({ removed: true, blocked: [{ project: 'shop', gate: 'unowned-target', message: 'x' }] })), false);
  });
});

describe('ps', () => {
  const report = (hostId: string, projects: ProjectStatus[]): StatusReport => ({ hostId, reportedAt: 'now', agentVersion: '0', outboxDepth: 0, status: { hostId, observedAt: 'now', projects } });
  const instance = (service: string, n: number) => ({ project: 'shop', service, instance: n, name: `shop-${service}-${n}`, containerId: `c${service}${n}0000000000000`, state: 'running' as const, health: 'healthy' as const, restartCount: 0, startedAt: '2026-01-01T00:00:00.000Z', drift: [] });
  const now = Date.parse('2026-01-01T00:05:30.000Z');
  const documents = fleetTargets(fleet, hosts, new Map(), 'c').map((t) => t.document);

  it('lists every instance sorted by host, project, service and instance, with image and ports from the host\'s document', () => {
    const reports = [report('h2', [project({ instances: [instance('web', 1), instance('db', 1)] }), project({ project: 'gone', removed: true })]), report('h1', [project({ instances: [instance('web', 1)] })])];
    const rows = psRows(reports, documents, {}, new Set(['h2']), now);
    assert.deepEqual(rows.map((row) => [row.hostId, row.service, row.instance, row.image, row.ports, row.stale, row.uptimeSeconds]), [
      ['h1', 'web', 1, 'hw/busybox:test', ['8080:80'], false, 330],
      ['h2', 'db', 1, 'hw/busybox:test', [], true, 330],
      ['h2', 'web', 1, 'hw/busybox:test', ['8080:80'], true, 330],
    ]);
    assert.deepEqual(psRows(reports, documents, { hostId: 'h1' }, new Set(), now).map((row) => row.hostId), ['h1']);
    assert.deepEqual(psRows(reports, documents, { project: 'other' }, new Set(), now), []);
    const exited = psRows([report('h1', [project({ instances: [{ ...instance('web', 1), state: 'exited' }, { ...instance('web', 2), startedAt: undefined }] })])], documents, {}, new Set(), now);
    assert.deepEqual(exited.map((row) => row.uptimeSeconds), [null, null], 'no uptime for an exited instance, nor without a start time');
    const text = renderPs(rows, {});
    assert.match(text, /HOST +PROJECT +SERVICE +INSTANCE +STATE +HEALTH +UP/);
    assert.match(text, /h1 +shop +web +1 +running +healthy +5m /);
    assert.deepEqual([uptime(59), uptime(150), uptime(7300), uptime(200_000)], ['59s', '2m', '2h', '2d']);
    assert.match(text, /STALE: h2/);
    assert.equal(renderPs([], { project: 'other' }), 'No instances of project other are reported.');
  });
});

describe('hosts view and permissions', () => {
  it('marks the labels the coordinator set and shows the cordon with its reason', () => {
    const text = renderHosts([{ hostId: 'h1', labels: { role: 'web', disk: 'ssd' }, agentVersion: '1', startedAt: 's', heartbeatAt: new Date().toISOString(), trust: 'verified', coordinatorLabels: { role: 'db' }, cordon: { reason: 'disk swap', at: '2026-01-01T00:00:00.000Z' } }]);
    assert.match(text, /role=db\*,disk=ssd|disk=ssd,role=db\*/);
    assert.match(text, /CORDONED/);
    assert.match(text, /h1: CORDONED since 2026-01-01T00:00:00.000Z: disk swap/);
    assert.match(text, /\* set by the coordinator/);
  });

  it('the coordinator may read and write hw_hostctl; a host may neither', () => {
    const coordinator = coordinatorPermissions(['h1']);
    assert.ok(coordinator.publish.includes('$KV.hw_hostctl.>'));
    assert.ok(coordinator.publish.includes('$JS.API.DIRECT.GET.KV_hw_hostctl.>'));
    const host = hostPermissions('h1');
    assert.ok([...host.publish, ...host.subscribe].every((subject) => !subject.includes('hostctl')));
  });
});
