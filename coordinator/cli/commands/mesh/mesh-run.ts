import { compareStrings } from '../../../../shared/compare.js';
import { InvalidInputError } from '../../../../shared/errors.js';
import { parsePrefix } from '../../../../shared/ipv4.js';
import { meshAddressOf, meshSettingsSchema, meshTransportOf, type MeshDesired } from '../../../../shared/mesh.js';
import type { FleetClient } from '../../../fleet-client.js';
import { meshLiveByHost, meshLiveText, meshLiveView, type MeshLiveView } from '../../../mesh-live.js';
import { meshSettingsOf, planMeshWrites, type MeshMember } from '../../../mesh-plan.js';
import { withFleet } from '../../../fleet-session.js';
import { modeOf } from '../../options.js';
import { printable, printableJson } from '../../render/printable.js';
import type { MeshApplyOptions, MeshOptions } from './options.js';

/** `mesh`: the stored mesh documents, one row per host with how its live mesh compares, and hosts ready to join that are not in it yet. */
export async function showMesh(options: MeshOptions): Promise<void> {
  const mode = modeOf(options, 'mesh');
  if (mode.kind !== 'fleet') return;
  await withFleet(mode, async (client) => {
    const [stored, reports] = await Promise.all([client.meshDocuments(), client.hostReports()]);
    const members = meshMembersOf(reports);
    const liveOf = meshLiveByHost(reports);
    const hosts = [...stored.values()].map((entry) => ({ ...row(entry.document), live: meshLiveView(entry.document.revision, liveOf.get(entry.document.hostId)) })).sort((a, b) => compareStrings(a.hostId, b.hostId));
    const waiting = members.filter((member) => !stored.has(member.hostId)).map((member) => member.hostId);
    if (options.json) {
      process.stdout.write(`${printableJson({ schema: 'hostwright.mesh-list/v1', hosts, waiting }, 2)}\n`);
      return;
    }
    const transports = [...new Set(hosts.map((host) => host.transport))];
    const transport = transports.length === 0 ? '' : `\n${printable(`transport ${transports.join(', ')}${transports.includes('routed') ? ' (routed: in clear, for a trusted private network only)' : ''}`)}`;
    process.stdout.write(`${renderRows(hosts, waiting)}${transport}\n`);
  });
}

/** `mesh apply`: every registered, verified host with a mesh key joins; blocks stay; changed documents are signed and written. */
export async function applyMesh(options: MeshApplyOptions): Promise<void> {
  const mode = modeOf(options, 'mesh apply');
  if (mode.kind !== 'fleet') return;
  await withFleet(
    mode,
    async (client) => {
      if (!options.dryRun) client.requireSigner('mesh apply');
      const [stored, members] = await Promise.all([client.meshDocuments(), meshMembers(client)]);
      if (members.length === 0) throw new InvalidInputError('mesh apply: no registered host takes part in a mesh: start agents with --mesh-endpoint ADDRESS:PORT (and a fleet-auth.json beside the credentials, so their keys can be verified), then run this again');
      const settings = meshSettingsOf(stored.values(), { fleetRange: options.fleetRange, blockPrefix: integerFlag(options.blockPrefix, '--block-prefix'), listenPort: integerFlag(options.port, '--port'), transport: options.transport }, (raw) => {
        const parsed = meshSettingsSchema.safeParse(raw);
        if (!parsed.success) throw new InvalidInputError(`mesh apply: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'settings'}: ${issue.message}`).join('; ')}`);
        return parsed.data;
      });
      const writes = planMeshWrites(settings, members, stored);
      if (!options.dryRun) for (const write of writes) if (write.change !== 'unchanged') await client.writeMesh(write.document, write.expectedRevision);
      const rows = writes.map((write) => ({ ...row(write.document), change: write.change }));
      if (options.json) {
        process.stdout.write(`${printableJson({ schema: 'hostwright.mesh-apply/v1', dryRun: options.dryRun === true, fleetRange: settings.fleetRange, blockPrefix: settings.blockPrefix, listenPort: settings.listenPort, transport: settings.transport, hosts: rows }, 2)}\n`);
        return;
      }
      const changed = rows.filter((entry) => entry.change !== 'unchanged').length;
      const transport = settings.transport === 'routed' ? 'transport routed: in clear, for a trusted private network only' : 'transport wireguard';
      const summary = `${options.dryRun ? `would write ${changed} of ${rows.length} mesh documents (dry run)` : `wrote ${changed} of ${rows.length} mesh documents; each agent brings its interface to it`}; ${transport}`;
      process.stdout.write(`${renderRows(rows, [])}\n${printable(summary)}\n`);
    },
    { keyFile: options.signingKey },
  );
}

/** Registered hosts whose agent named a mesh key, verified against the fleet's host keys: an unverified key could be anyone's. */
async function meshMembers(client: FleetClient): Promise<MeshMember[]> {
  return meshMembersOf(await client.hostReports());
}

function meshMembersOf(reports: Awaited<ReturnType<FleetClient['hostReports']>>): MeshMember[] {
  return reports.flatMap((report) => (report.trust.verdict === 'verified' && report.value?.mesh ? [{ hostId: report.hostId, ...report.value.mesh }] : []));
}

function row(document: MeshDesired): { hostId: string; block: string; meshAddress: string; listenPort: number; transport: string; peers: string[]; revision: number } {
  return { hostId: document.hostId, block: document.block, meshAddress: meshAddressOf(parsePrefix(document.block)!), listenPort: document.listenPort, transport: meshTransportOf(document), peers: document.peers.map((peer) => peer.hostId), revision: document.revision };
}

function renderRows(rows: readonly (ReturnType<typeof row> & { change?: string; live?: MeshLiveView })[], waiting: readonly string[]): string {
  const withLive = rows.some((entry) => entry.live !== undefined);
  const lines = rows.map((entry) => `${entry.hostId.padEnd(16)} ${entry.block.padEnd(18)} ${entry.meshAddress.padEnd(15)} ${withLive ? String(entry.peers.length).padEnd(5) : `peers ${entry.peers.length}`}${entry.change ? `  ${entry.change}` : ''}${entry.live ? ` ${meshLiveText(entry.live, entry.revision)}` : ''}`);
  const head = rows.length === 0 ? 'no mesh: run `hostwright mesh apply`' : `${'HOST'.padEnd(16)} ${'BLOCK'.padEnd(18)} ${'MESH ADDRESS'.padEnd(15)} PEERS${withLive ? ' LIVE' : ''}`;
  // Each line escaped on its own: a line break inside a value (an agent's error) cannot start a line of its own.
  return [head, ...lines, ...(waiting.length > 0 ? [`not in the mesh yet (run \`hostwright mesh apply\`): ${waiting.join(', ')}`] : [])].map((line) => printable(line)).join('\n');
}

function integerFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value)) throw new InvalidInputError(`${flag} ${value}: expected a whole number`);
  return Number(value);
}
