import { emptyHostControl, parseLabelChanges, withLabelChanges, type HostControl } from '../../../../shared/host-control.js';
import type { FleetClient } from '../../../fleet-client.js';
import { requireKnownHost } from '../../../known-hosts.js';
import { withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { printable, printableJson } from '../../render/printable.js';
import type { HostControlOptions } from './options.js';

/** `hosts cordon H [--reason …]`: the host gets no new placements; what runs there stays. */
export async function cordonHost(hostId: string, options: HostControlOptions & { readonly reason?: string }): Promise<void> {
  await changeControl(hostId, options, (control, now) => ({ ...control, cordon: { ...(options.reason ? { reason: options.reason } : {}), at: now } }), (control) => `${hostId} cordoned${control.cordon?.reason ? ` (${control.cordon.reason})` : ''}: it gets no new placements; what runs there stays. \`hostwright hosts uncordon ${hostId}\` undoes it.`);
}

/** `hosts uncordon H`: placement may use the host again; a drain's record goes with the cordon. */
export async function uncordonHost(hostId: string, options: HostControlOptions): Promise<void> {
  await changeControl(hostId, options, ({ cordon: _cordon, drain: _drain, ...control }) => control, () => `${hostId} uncordoned: placement may use it again (the next apply places there what its placements allow).`);
}

/** `hosts label H role=web zone=a role-`: labels placement reads beside the agent's own, which they override. */
export async function labelHost(hostId: string, changes: readonly string[], options: HostControlOptions): Promise<void> {
  const parsed = parseLabelChanges(changes);
  await changeControl(hostId, options, (control) => ({ ...control, labels: withLabelChanges(control.labels, parsed) }), (control) => `${hostId}: labels set by the coordinator: ${Object.entries(control.labels).map(([key, value]) => `${key}=${value}`).join(',') || 'none'}. Run \`hostwright plan -f FILE\` to see which projects move, and apply to move them.`);
}

/**
 * Reads the host's control, changes it and writes it back with compare-and-set; a host the fleet
 * does not know is refused with the known ones. A stored value that fails its checks is replaced.
 */
async function changeControl(hostId: string, options: HostControlOptions, change: (control: HostControl, now: string) => HostControl, done: (control: HostControl) => string): Promise<void> {
  const mode = modeOf(options, 'hosts');
  if (mode.kind !== 'fleet') return;
  await withFleet(
    mode,
    async (client: FleetClient) => {
      client.requireSigner('hosts cordon, uncordon and label');
      requireKnownHost('hosts', hostId, await client.knownHostIds());
      const next = await rewriteControl(client, hostId, change);
      process.stdout.write(options.json ? `${printableJson({ schema: 'hostwright.hostctl/v1', hostId, labels: next.labels, cordon: next.cordon ?? null }, 2)}\n` : `${printable(done(next))}\n`);
    },
    { keyFile: options.signingKey },
  );
}

/**
 * Reads the host's control, changes it and writes it back with compare-and-set (a stored value that
 * fails its checks is replaced); returns what it wrote.
 */
export async function rewriteControl(client: FleetClient, hostId: string, change: (control: HostControl, now: string) => HostControl): Promise<HostControl> {
  const { controls, refused } = await client.hostControls();
  const now = new Date().toISOString();
  const current = controls.get(hostId);
  const kvRevision = current?.kvRevision ?? refused.find((entry) => entry.hostId === hostId)?.kvRevision ?? 0;
  const next = { ...change(current?.control ?? emptyHostControl(hostId, now), now), updatedAt: now };
  await client.writeHostControl(next, kvRevision);
  return next;
}
