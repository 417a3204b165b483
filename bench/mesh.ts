// The data plane's cost: TCP throughput and request latency between two hosts' namespaces through
// the mesh (WireGuard: kernel where there is one, else wireguard-go), beside the same between the
// namespaces directly over their link, alternating in one run.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshLink, type MeshReconcileResult } from '../agent/mesh/mesh-link.js';
import { assignBlocks, meshDocuments } from '../coordinator/mesh-plan.js';
import { meshAddressOf, meshSettingsSchema } from '../shared/mesh.js';
import { parsePrefix } from '../shared/ipv4.js';
import { NetnsPair } from '../test/lib/netns-pair.js';
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

export interface MeshBenchResult {
  readonly benchmark: 'mesh';
  readonly implementation: string;
  readonly megabytes: number;
  readonly round_trips: number;
  readonly runs: number;
  readonly direct: PathFigures;
  readonly mesh: PathFigures;
  readonly throughput_ratio: number;
  readonly p99_added_ms: number;
}

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
  const dirs = await Promise.all(pair.hosts.map(() => mkdtemp(join(tmpdir(), 'hw-bench-mesh-'))));
  const cleanup = async () => {
    await pair.cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    for (const name of await readdir('/var/run/wireguard').catch(() => [])) if (pair.hosts.some((host) => name.startsWith(host.meshInterface))) await rm(`/var/run/wireguard/${name}`, { force: true });
  };
  return withInterruptCleanup(cleanup, async () => {
    try {
      const settings = meshSettingsSchema.parse({});
      const links = pair.hosts.map((host, i) => new MeshLink({ interfaceName: host.meshInterface, dataDir: dirs[i]!, netns: host.netns }));
      const members = await Promise.all(links.map(async (link, i) => ({ hostId: `h${i + 1}`, publicKey: (await link.key()).publicKey, endpoint: `${pair.hosts[i]!.address}:${settings.listenPort}` })));
      const documents = meshDocuments(settings, members, assignBlocks(settings, members.map((member) => member.hostId), new Map()), 1);
      let made: MeshReconcileResult['implementation'];
      for (const [i, link] of links.entries()) made = (await link.reconcile(documents[i])).implementation ?? made;
      const [near, far] = pair.hosts as [typeof pair.hosts[0], typeof pair.hosts[0]];
      const bytes = options.megabytes * 1024 * 1024;
      const server = pair.spawnNode(far.netns, SERVER, [String(bytes)]);
      await new Promise<void>((resolve, reject) => {
        server.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
        server.once('exit', () => reject(new Error('the benchmark server exited')));
      });
      const targets = { direct: far.address, mesh: meshAddressOf(parsePrefix(documents[1]!.block)!) };
      const samples: Record<'direct' | 'mesh', Sample[]> = { direct: [], mesh: [] };
      for (let run = 0; run < options.runs; run++) {
        // Alternate which path goes first: a busy moment of the shared machine falls on both.
        const order = run % 2 === 0 ? (['direct', 'mesh'] as const) : (['mesh', 'direct'] as const);
        for (const path of order) {
          progress(`mesh: run ${run + 1}/${options.runs}, ${path}`);
          const { stdout } = await pair.exec(near.netns, process.execPath, ['-e', CLIENT, targets[path], String(bytes), String(options.iterations)]);
          const sample = JSON.parse(stdout) as Sample;
          if (sample.got !== bytes) throw new Error(`${path}: received ${sample.got} of ${bytes} bytes`);
          samples[path].push(sample);
        }
      }
      const figures = (path: 'direct' | 'mesh'): PathFigures => {
        const all = samples[path].flatMap((sample) => sample.samples);
        return { throughput_mbit_s: round(median(samples[path].map((sample) => (sample.got * 8) / sample.seconds / 1e6)), 1), latency_ms: { p50: round(percentile(all, 50), 3), p99: round(percentile(all, 99), 3) } };
      };
      const direct = figures('direct');
      const mesh = figures('mesh');
      return {
        benchmark: 'mesh',
        implementation: made ?? 'unknown',
        megabytes: options.megabytes,
        round_trips: options.iterations,
        runs: options.runs,
        direct,
        mesh,
        throughput_ratio: round(mesh.throughput_mbit_s / direct.throughput_mbit_s, 3),
        p99_added_ms: round(mesh.latency_ms.p99 - direct.latency_ms.p99, 3),
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
    ['throughput, median (Mbit/s): direct | mesh', `${result.direct.throughput_mbit_s} | ${result.mesh.throughput_mbit_s}`],
    ['mesh throughput / direct', `${(result.throughput_ratio * 100).toFixed(1)} %`],
    ['64-byte round trip p50 (ms): direct | mesh', `${result.direct.latency_ms.p50} | ${result.mesh.latency_ms.p50}`],
    ['64-byte round trip p99 (ms): direct | mesh', `${result.direct.latency_ms.p99} | ${result.mesh.latency_ms.p99}`],
    ['p99 added by the mesh', `${result.p99_added_ms} ms`],
  ];
}
