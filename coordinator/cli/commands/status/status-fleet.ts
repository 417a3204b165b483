import type { FleetClient } from '../../../fleet-client.js';
import { withoutPulls, type FleetHostStatus } from '../../../fleet-status.js';
import { renderFleetStatus } from '../../render/fleet-status-view.js';
import { readFleetStatus, watchFleetStatus } from '../../../operations/status-fleet.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { PullProgressLines } from '../../render/pull-view.js';
import { withFleet } from '../../../fleet-session.js';
import type { FleetTarget } from '../../options.js';
import type { StatusOptions } from './options.js';
import { printable, printableJson } from '../../render/printable.js';
import { wiringLines } from '../../../wiring.js';

/** `status` in fleet mode: every host's last report, once or on every change. */
export async function statusOfFleet(target: FleetTarget, options: StatusOptions): Promise<void> {
  await withFleet(target, async (client) => {
    if (options.host !== undefined) requireKnownHost('--host', options.host, await client.knownHostIds());
    await (options.watch ? watchFleet(client, options) : printFleet(client, options));
  });
}

async function printFleet(client: FleetClient, options: StatusOptions): Promise<void> {
  const { hosts, wiring } = await readFleetStatus(client, options.host);
  const across = wiring.filter((edge) => edge.reach !== 'same-host');
  const wiringText = across.length > 0 ? `\n\nWiring (depends_on across hosts):\n${wiringLines(across, printable).map((line) => `  ${line}`).join('\n')}` : '';
  process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.fleetstatus/v1', hosts, wiring }, 2)}\n` : `${renderFleetStatus(hosts)}${wiringText}\n`);
}

/** Re-reads and prints whenever a host's status or heartbeat changes, until interrupted. */
async function watchFleet(client: FleetClient, options: StatusOptions): Promise<void> {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  let last = '';
  const say = (line: string) => process.stdout.write(options.json ? `${printableJson({ progress: line })}\n` : `${line}\n`);
  const pulls = new PullProgressLines(say);
  const print = (reported: readonly FleetHostStatus[]) => {
    // A pull's progress alone prints a line (throttled), not the whole table again.
    for (const host of reported) pulls.show(host.hostId, host.status?.pulls);
    const hosts = withoutPulls(reported);
    const text = options.json ? printableJson({ schema: 'hostwright.fleetstatus/v1', at: new Date().toISOString(), hosts }) : renderFleetStatus(hosts);
    const comparable = options.json ? JSON.stringify(hosts.map((h) => ({ ...h, heartbeatAt: null, reportedAt: null, status: h.status ? { ...h.status, observedAt: '' } : null }))) : text.replace(/\d+[smhd] ago/g, '');
    if (comparable === last) return;
    last = comparable;
    process.stdout.write(options.json ? `${text}\n` : `\n${new Date().toISOString()}\n${text}\n`);
  };
  await watchFleetStatus(client, { ...(options.host === undefined ? {} : { only: options.host }), signal: abort.signal }, print);
}
