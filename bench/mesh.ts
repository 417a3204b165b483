// The data plane's cost: TCP throughput and request latency between two hosts' namespaces through
// each mesh transport (routed: no tunnel; WireGuard: kernel where there is one, else wireguard-go),
// beside the same between the namespaces directly over their link, alternating in one run.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshLink, type MeshReconcileResult } from '../agent/mesh/mesh-link.js';
import { assignBlocks, meshDocuments } from '../coordinator/mesh-plan.js';
import { meshAddressOf, meshSettingsSchema, type MeshSettings } from '../shared/mesh.js';
import { parsePrefix } from '../shared/ipv4.js';
import { NetnsPair, type BareHost } from '../test/lib/netns-pair.js';
import { median, percentile, round } from './stats.js';
import { progress, withInterruptCleanup } from './support.js';

export interface MeshBenchOptions {
  readonly megabytes: number;
  readonly iterations: number;
  readonly runs: number;
}

interface PathFigures {
  readonly throughput_mbit_s: number;
  readonly latency_ms: { readonly p50: number; readonly p99: number };
}

/** A transport's figures beside the direct path's. */
interface TransportFigures extends PathFigures {
  readonly throughput_ratio: number;
  readonly p99_added_ms: number;
}

export interface MeshBenchResult {
  readonly benchmark: 'mesh';
  /** How the WireGuard transport's interface was made: kernel or wireguard-go. */
  readonly implementation: string;
  readonly megabytes: number;
  readonly round_trips: number;
  readonly runs: number;
  readonly direct: PathFigures;
  readonly routed: TransportFigures;
  readonly wireguard: TransportFigures;
}

type Path = 'direct' | 'routed' | 'wireguard';
const PATHS: readonly Path[] = ['direct', 'routed', 'wireguard'];
/** The routed mesh's own range, beside the WireGuard one's default, so both run side by side. */
const ROUTED_RANGE = '10.80.0.0/12';

const BULK_PORT = 7301;
const ECHO_PORT = 7302;

/** The far end: sends `bytes` to each connection on BULK_PORT, echoes on ECHO_PORT; both on every address. */
const SERVER = `
const net = require('node:net');
const bytes = Number(process.argv[1]);
const chunk = Buffer.alloc(65536, 7);
net.createServer((socket) => {
  let left = bytes;
  const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return socket.once('drain', pump); } socket.end(); };
  pump();
}).listen(${BULK_PORT}, '0.0.0.0', () => net.createServer((socket) => socket.pipe(socket)).listen(${ECHO_PORT}, '0.0.0.0', () => console.log('listening')));
`;

/** The near end: one bulk read (bytes/s) and N 64-byte request/response round trips on one connection (ms each). */
const CLIENT = `
const net = require('node:net');
const [address, bytesText, tripsText] = process.argv.slice(1);
const bytes = Number(bytesText), trips = Number(tripsText);
const bulk = () => new Promise((resolve, reject) => {
  const started = process.hrtime.bigint(); let got = 0;
  const s = net.connect(${BULK_PORT}, address);
  s.on('data', (d) => { got += d.length; });
  s.on('end', () => resolve({ got, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  s.on('error', reject);
});
const echo = () => new Promise((resolve, reject) => {
  const s = net.connect(${ECHO_PORT}, address, () => { s.setNoDelay(true); next(); });
  const samples = []; const payload = Buffer.alloc(64, 1); let sent = 0n; let pending = 0;
  const next = () => { if (samples.length === trips) { s.destroy(); return resolve(samples); } pending = payload.length; sent = process.hrtime.bigint(); s.write(payload); };
  s.on('data', (d) => { pending -= d.length; if (pending <= 0) { samples.push(Number(process.hrtime.bigint() - sent) / 1e6); next(); } });
  s.on('error', reject);
});
(async () => { const b = await bulk(); const samples = await echo(); console.log(JSON.stringify({ ...b, samples })); })().catch((e) => { console.error(e.message); process.exit(1); });
`;

interface Sample {
  readonly got: number;
  readonly seconds: number;
  readonly samples: number[];
}

export async function runMesh(options: MeshBenchOptions): Promise<MeshBenchResult> {
  const pair = await NetnsPair.start(2);
  // One data dir per host and transport: each MeshLink keeps its key and intent there.
  const dirs = await Promise.all([...pair.hosts, ...pair.hosts].map(() => mkdtemp(join(tmpdir(), 'hw-bench-mesh-'))));
  const cleanup = async () => {
    await pair.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    for (const name of await readdir('/var/run/wireguard').catch(() => [])) if (pair.hosts.some((host) => name.startsWith(host.meshInterface))) await rm(`/var/run/wireguard/${name}`, { force: true });
  };
  return withInterruptCleanup(cleanup, async () => {
    try {
      const bringUp = async (settings: MeshSettings, interfaceOf: (host: BareHost) => string, dirOffset: number) => {
        const links = pair.hosts.map((host, i) => new MeshLink({ interfaceName: interfaceOf(host), dataDir: dirs[dirOffset + i]!, netns: host.netns }));
        const members = await Promise.all(links.map(async (link, i) => ({ hostId: `h${i + 1}`, publicKey: (await link.key()).publicKey, endpoint: `${pair.hosts[i]!.address}:${settings.listenPort}` })));
        const documents = meshDocuments(settings, members, assignBlocks(settings, members.map((member) => member.hostId), new Map()), 1);
        let made: MeshReconcileResult['implementation'];
        for (const [i, link] of links.entries()) made = (await link.reconcile(documents[i])).implementation ?? made;
        return { made, farAddress: meshAddressOf(parsePrefix(documents[1]!.block)!) };
      };
      // WireGuard first: a pass of it removes routes marked as the routed transport's (one routed mesh per namespace).
      const wireguard = await bringUp(meshSettingsSchema.parse({}), (host) => host.meshInterface, 0);
      const routed = await bringUp(meshSettingsSchema.parse({ fleetRange: ROUTED_RANGE, transport: 'routed' }), (host) => `${host.meshInterface}r`, pair.hosts.length);
      const [near, far] = pair.hosts as [typeof pair.hosts[0], typeof pair.hosts[0]];
      const bytes = options.megabytes * 1024 * 1024;
      const server = pair.spawnNode(far.netns, SERVER, [String(bytes)]);
      await new Promise<void>((resolve, reject) => {
        server.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
        server.once('exit', () => reject(new Error('the benchmark server exited')));
      });
      const targets: Record<Path, string> = { direct: far.address, routed: routed.farAddress, wireguard: wireguard.farAddress };
      const samples: Record<Path, Sample[]> = { direct: [], routed: [], wireguard: [] };
      for (let run = 0; run < options.runs; run++) {
        // Rotate which path goes first: a busy moment of the shared machine falls on each in turn.
        const order = PATHS.map((_, i) => PATHS[(i + run) % PATHS.length]!);
        for (const path of order) {
          progress(`mesh: run ${run + 1}/${options.runs}, ${path}`);
          // wireguard-go on a loaded machine can take minutes for the bulk transfer.
          const { stdout } = await pair.exec(near.netns, process.execPath, ['-e', CLIENT, targets[path], String(bytes), String(options.iterations)], 600_000);
          const sample = JSON.parse(stdout) as Sample;
          if (sample.got !== bytes) throw new Error(`${path}: received ${sample.got} of ${bytes} bytes`);
          samples[path].push(sample);
        }
      }
      const figures = (path: Path): PathFigures => {
        const all = samples[path].flatMap((sample) => sample.samples);
        return { throughput_mbit_s: round(median(samples[path].map((sample) => (sample.got * 8) / sample.seconds / 1e6)), 1), latency_ms: { p50: round(percentile(all, 50), 3), p99: round(percentile(all, 99), 3) } };
      };
      const direct = figures('direct');
      const beside = (path: Path): TransportFigures => {
        const own = figures(path);
        return { ...own, throughput_ratio: round(own.throughput_mbit_s / direct.throughput_mbit_s, 3), p99_added_ms: round(own.latency_ms.p99 - direct.latency_ms.p99, 3) };
      };
      return {
        benchmark: 'mesh',
        implementation: wireguard.made ?? 'unknown',
        megabytes: options.megabytes,
        round_trips: options.iterations,
        runs: options.runs,
        direct,
        routed: beside('routed'),
        wireguard: beside('wireguard'),
      };
    } finally {
      await cleanup();
    }
  });
}

export function meshRows(result: MeshBenchResult): [string, string][] {
  return [
    ['WireGuard implementation', result.implementation],
    ['bulk transfer / round trips per run / runs', `${result.megabytes} MiB / ${result.round_trips} / ${result.runs}`],
    ['throughput, median (Mbit/s): direct | routed | wireguard', `${result.direct.throughput_mbit_s} | ${result.routed.throughput_mbit_s} | ${result.wireguard.throughput_mbit_s}`],
    ['throughput / direct: routed | wireguard', `${(result.routed.throughput_ratio * 100).toFixed(1)} % | ${(result.wireguard.throughput_ratio * 100).toFixed(1)} %`],
    ['64-byte round trip p50 (ms): direct | routed | wireguard', `${result.direct.latency_ms.p50} | ${result.routed.latency_ms.p50} | ${result.wireguard.latency_ms.p50}`],
    ['64-byte round trip p99 (ms): direct | routed | wireguard', `${result.direct.latency_ms.p99} | ${result.routed.latency_ms.p99} | ${result.wireguard.latency_ms.p99}`],
    ['p99 added: routed | wireguard', `${result.routed.p99_added_ms} ms | ${result.wireguard.p99_added_ms} ms`],
  ];
}
