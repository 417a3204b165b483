import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { cliRows, runCli, type CliResult } from './cli.js';
import { applyWaitRows, runApplyWait, type ApplyWaitResult } from './apply-wait.js';
import { convergeRows, runConverge, type ConvergeResult } from './converge.js';
import { fleetRows, runFleet, type FleetResult } from './fleet.js';
import { journalOpenRows, runJournalOpen, type JournalOpenResult } from './journal-open.js';
import { AGENT_ENVIRONMENTS, runSoak, soakRows, type AgentEnvironmentName, type SoakResult } from './soak.js';
import { loadPlanRows, runLoadPlan, type LoadPlanResult } from './load-plan.js';
import { rolloutRows, runRolloutBench, type RolloutBenchResult } from './rollout.js';
import { noopRows, runNoop, type NoopResult } from './noop-cycle.js';
import { plannerRows, runPlanner, type PlannerResult } from './planner.js';
import { renderRows, runRender, type RenderResult } from './render.js';
import { peersRows, runPeers, type PeersResult } from './peers.js';
import { runScale, scaleRows, type ScaleResult } from './scale.js';
import { runSigning, signingRows, type SigningResult } from './signing.js';
import { endpointsRows, runEndpoints, type EndpointsResult } from './endpoints.js';
import { endpointsScaleRows, runEndpointsScale, type EndpointsScaleResult } from './endpoints-scale.js';
import { pullRows, runPull, type PullResult } from './pull.js';
import { logsRows, runLogsBench, type LogsBenchResult } from './logs.js';
import { meshRows, runMesh, type MeshBenchResult } from './mesh.js';
import { dashboardRows, runDashboardBench, type DashboardBenchResult } from './dashboard.js';
import { MAX_SERVICES } from '../shared/limits.js';
import { round } from './stats.js';
import { InterruptedError, checkEngine, installInterruptHandler, throwIfInterrupted } from './support.js';

/** The engine and the CPUs are shared: every result says how busy the machine was around it. */
type Measured<T> = T & { readonly load_avg_1m: { readonly start: number; readonly end: number } };
type BenchResult = Measured<ConvergeResult> | Measured<NoopResult> | Measured<PlannerResult> | Measured<RenderResult> | Measured<FleetResult> | Measured<RolloutBenchResult> | Measured<ScaleResult> | Measured<PeersResult> | Measured<SigningResult> | Measured<CliResult> | Measured<ApplyWaitResult> | Measured<LoadPlanResult> | Measured<JournalOpenResult> | Measured<SoakResult> | Measured<PullResult> | Measured<EndpointsResult> | Measured<EndpointsScaleResult> | Measured<LogsBenchResult> | Measured<MeshBenchResult> | Measured<DashboardBenchResult>;

async function measured<T>(body: () => T | Promise<T>): Promise<Measured<T>> {
  const start = loadavg()[0] ?? 0;
  const result = await body();
  return { ...result, load_avg_1m: { start: round(start, 2), end: round(loadavg()[0] ?? 0, 2) } };
}

const USAGE = `Usage: npm run --silent bench -- <benchmark> [options]

Benchmarks (they print figures and never assert timing):
  converge   Raw dockerode create+start vs one Hostwright reconcile cycle, same N and parallelism,
             alternating which goes first each round; median seconds per side and their ratio.
               --containers N     containers to converge (1-1000, default 20)
               --parallelism P    concurrent create+start chains on both sides (1-64, default 4)
               --runs R           rounds (1-100, default 3)
               --breakdown        also sum the time of every engine and journal call per side
  noop       No-op cycles on a host already converged to N containers vs a raw list call.
               --containers N     containers on the host (1-1000, default 100)
               --iterations I     measured rounds (1-100000, default 50)
               --warmup W         untimed rounds first (0-1000, default 3)
               --parallelism P    parallelism of the untimed converging cycle (1-64, default 4)
               --breakdown        then time as many instrumented full cycles, per runtime/journal call
  planner    Pure diff + plan + gates (no Docker) for S single-replica services, ~1% to replace
             and ~1% missing.
               --services S       services (1-20000, the most a project may have; default 10000)
               --iterations I     measured iterations (1-100000, default 20)
               --warmup W         untimed iterations first (0-1000, default 2)
  render     The human \`plan\` of a new fleet file on an empty host (a create and a start per service),
             rendered only: the plan is made once per size, untimed; median ms and ms per 1000 actions.
               --actions A[,A...] plan sizes in actions (even, 2-200000 each, default 1000,4000,20000)
               --iterations I     measured renders per size (1-1000, default 5), after one warm-up
  load-plan  Fleet file text to plan JSON, pure (no Docker): parse + validate, place, diff, plan,
             gates and the plan report, for S single-replica services on a fresh host, and the
             parse of the same file with an error in every service; medians per step.
               --services S[,S...] fleet sizes (1-20000 each, default 1000,5000,20000)
               --iterations I     iterations per size (1-100, default 3)
               --baseline-dist D  also time another build's dist/ directory (e.g. the main branch's),
                                  alternating with this one, and check that both plan the same bytes
  fleet      A real nats-server and H agents (in this process) on the local engine: one apply of
             H x N containers until every host reports converged, next to one host converging
             the same H*N containers directly; then desired-state write -> status latency.
               --hosts H          agents (1-20, default 3)
               --containers N     containers per host (1-100, default 5)
               --iterations I     latency samples (1-10000, default 30)
  rollout    A real nats-server and H agents: a version change rolled out with canary 1 and
             --max-parallel, min-healthy 0, next to the sum of one single-host replacement per wave.
               --hosts H          agents (2-20, default 4)
               --containers N     containers per host (1-100, default 3)
               --parallelism P    the rollout's --max-parallel (1-20, default 2)
  peers      N single-replica services converged from nothing, re-applied unchanged, and with one
             service's image changed, by: raw dockerode (the lower bound, same parallelism),
             Hostwright local mode, Hostwright through one agent over NATS, docker-compose up -d
             (installed with apt-get if missing) and a Docker Swarm stack on the same engine
             (swarm initialised on 127.0.0.1 and left again if the engine was not in one).
               --containers N     services (1-500, default 20)
               --parallelism P    raw and Hostwright parallelism (1-64, default 4)
  scale      Hollow agents (the real agent code over an in-memory runtime, many per process, in
             worker processes) and a real nats-server: one apply that changes every host (new
             image), per-host time to converged, coordinator CPU/RSS, NATS traffic per host,
             events ingested, CPU seconds over the change (machine, agents, nats-server,
             coordinator), and \`status\` of all hosts; one run per fleet size.
               --hosts H[,H...]   fleet sizes (1-5000 each, default 100,300,1000)
               --containers N     containers per hollow host (1-50, default 2)
               --latency MS       simulated create/start/stop/remove latency (0-10000, default 50)
               --workers W        agent worker processes (0 = one per 250 hosts, max 4; default 0)
  endpoints  Endpoint propagation through the registry (hw_endpoints): a host puts a changed,
             signed record; time until every reader host's EndpointView resolves it (signature
             and placement checked), p99 over C changes, beside NATS's own KV watch latency for
             the same puts, in the same run.
               --readers R        reader hosts, each its own connection and credentials (1-200, default 10)
               --changes C        endpoint changes (1-10000, default 50)
  endpoints-scale
             The registry's central cost with H hollow hosts, each with its own account,
             credentials and connection; a project of S services spread over all of them (host i
             runs service i mod S, watches only the keys of service i+1). nats-server messages,
             bytes (/varz) and CPU (/proc/<pid>/stat) per endpoint change and per second of steady
             refresh, beside the same fleet idle, in the same run.
               --hosts H          hollow hosts (1-5000, default 1000)
               --services S       services of the project (1-1000, default 20)
               --changes C        endpoint changes, one at a time (1-10000, default 200)
               --seconds T        seconds of steady refresh and of idle baseline (1-600, default 15)
  signing    Sign + verify one host's desired document (S services): the nkeys package's pure-JS
             ed25519 (before) vs the same keys and signatures through Node's native crypto (now),
             alternating each iteration.
               --services S       services in the document (1-10000, default 20)
               --iterations I     measured iterations (1-100000, default 200)
  apply-wait Whole \`hostwright apply -f … --wait\` processes against H real agents (in this process)
             over a real nats-server, each a change that replaces every container, spawn to exit.
               --hosts H          agents (1-20, default 3)
               --containers N     services per host (1-50, default 2)
               --runs R           timed applies per build (1-50, default 5)
               --baseline-cli P   also time another build's CLI entry (dist/cli/hostwright.js),
                                  alternating with this one, on the same fleet
  cli        Whole \`hostwright\` processes, wall-clock from spawn to exit, R interleaved runs each:
             \`node -e 0\` (Node's own start, the floor), \`hostwright --help\`, and an unchanged
             \`hostwright apply --local\` of N services (converged once first, untimed); median and p90.
               --containers N     services in the fleet file (1-200, default 20)
               --runs R           timed runs of each command (1-200, default 10)
               --baseline-cli P   also time another build's CLI entry (dist/cli/hostwright.js) the same
                                  way (its own project and data dir), e.g. the main branch's
  journal-open  A synthetic journal of D days of churn (2,533 container lifecycles a day: create,
             start, stop, remove, six events and a plan each; 20 containers left running), written
             through the Journal API, then copied and pruned by the default retention rules; each
             opened in fresh processes: open time, RSS once open, size on disk, owner records read.
               --days D           days of churn (1-90, default 30)
               --runs R           opens timed per journal (1-50, default 5)
  soak       Agents (separate processes: real Docker, NATS, LevelDB) under churn for M minutes, a
             new revision, a container removed by hand and one stopped by hand in turn every 2 s;
             retention time compressed so the run stands for D days (every age of the rules and
             the pass interval divided by D*1440/M); disk, RSS and open FDs of each agent and the
             stream's and buckets' bytes sampled every 5 s; at the end every agent SIGKILLed during
             a change and restarted: duplicate or orphaned containers, events lost or doubled.
               --minutes M        wall-clock minutes (1-1440, default 30)
               --days D           days the run stands for (1-365, default 30)
               --hosts H          agents (1-10, default 2)
               --containers N     containers per host (1-20, default 3)
               --agent-env E,...  each agent's environment, in turn: unit (what the systemd unit
                                  sets: MALLOC_ARENA_MAX=2) or bare (Node's and glibc's defaults);
                                  default unit
  pull       One image (the test image plus a random layer) from a local registry on 127.0.0.1
             with htpasswd auth (Debian's docker-registry), pulled by \`docker pull\`, by the engine API and by a
             Hostwright cycle's pull-image action with the same credentials file, alternating which
             goes first, the image removed before every pull; medians and their ratio.
               --megabytes M      size of the random layer (1-1000, default 40)
               --runs R           rounds (1-50, default 5)
  logs       The whole output of a container that printed M MB of 100-byte lines, read by the engine's
             logs API (dockerode, timestamps) and by \`hostwright logs\`'s path (an agent's log session,
             a real nats-server, the coordinator's stream, rendered), alternating which goes first;
             then with -f for 15 s, the delay from a line's engine timestamp to its arrival, both
             ways, with C chatty containers (20 lines of 100 bytes every 0.1 s each) on the engine.
               --megabytes M      output of the container read whole (1-2000, default 100)
               --runs R           rounds (1-50, default 3)
               --containers C     chatty containers (0-100, default 10)
  mesh       Two network namespaces (root needed) joined by a bridge, with the mesh brought up by the
             agent's own code: a bulk TCP transfer and 64-byte request/response round trips directly
             over the link, through the routed transport and through WireGuard (kernel, else
             wireguard-go), alternating; median throughput, p50/p99 latency and the ratios.
               --megabytes M      bulk transfer per run (1-4000, default 200)
               --iterations I     round trips per run (10-100000, default 2000)
               --runs R           rounds (1-20, default 3)
  dashboard  \`hostwright dashboard\` with H simulated hosts heartbeating as agents do (no Docker) on a real
             nats-server, in Debian's chromium: the first view, each filter, the dashboard process's RSS
             while the hosts heartbeat and a host's status put to its cell on the page, beside the
             first view and RSS of the same process on an empty fleet, measured first.
               --hosts H          simulated hosts (20-20000, default 10000)
               --seconds S        RSS sampled once a second for S seconds (1-600, default 30)
               --heartbeat B      the agents' --heartbeat, seconds (1-60, default 5); the period follows the fleet's size
               --node-options O   NODE_OPTIONS of the dashboard process (a --max-semi-space-size there
                                  keeps it from adding its own heap flags)
               --runs R           first views, filters of each kind, status changes x2 (1-50, default 5)
  smoke      every benchmark once at a small size (CI: checks they run, asserts no timing).
  all        converge (20 containers), noop (100 containers) and planner (10000 services) with defaults.

Options for every benchmark:
  --json       print one JSON object on stdout and nothing else (progress goes to stderr)
  -h, --help   print this help

Needs a local Docker engine and the image hw/busybox:test (deploy/build-test-image.sh) for
converge, noop and all; nothing is ever pulled. Every container a run creates is removed again.
`;

class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  readers: { type: 'string' },
  changes: { type: 'string' },
  containers: { type: 'string' },
  'agent-env': { type: 'string' },
  parallelism: { type: 'string' },
  runs: { type: 'string' },
  iterations: { type: 'string' },
  warmup: { type: 'string' },
  services: { type: 'string' },
  actions: { type: 'string' },
  hosts: { type: 'string' },
  days: { type: 'string' },
  minutes: { type: 'string' },
  latency: { type: 'string' },
  workers: { type: 'string' },
  'baseline-cli': { type: 'string' },
  'baseline-dist': { type: 'string' },
  megabytes: { type: 'string' },
  seconds: { type: 'string' },
  heartbeat: { type: 'string' },
  'node-options': { type: 'string' },
  breakdown: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;
type Values = { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

const COMMANDS = ['converge', 'noop', 'planner', 'render', 'load-plan', 'fleet', 'rollout', 'peers', 'scale', 'signing', 'endpoints', 'endpoints-scale', 'cli', 'apply-wait', 'journal-open', 'soak', 'pull', 'logs', 'mesh', 'dashboard', 'smoke', 'all'] as const;
type Command = (typeof COMMANDS)[number];

/** The numeric options each benchmark accepts (json and help go with every one). */
const ALLOWED: Record<Command, readonly OptionName[]> = {
  converge: ['containers', 'parallelism', 'runs', 'breakdown'],
  noop: ['containers', 'iterations', 'warmup', 'parallelism', 'breakdown'],
  planner: ['services', 'iterations', 'warmup'],
  render: ['actions', 'iterations'],
  'load-plan': ['services', 'iterations', 'baseline-dist'],
  fleet: ['hosts', 'containers', 'iterations'],
  rollout: ['hosts', 'containers', 'parallelism'],
  peers: ['containers', 'parallelism'],
  scale: ['hosts', 'containers', 'latency', 'workers'],
  signing: ['services', 'iterations'],
  endpoints: ['readers', 'changes'],
  'endpoints-scale': ['hosts', 'services', 'changes', 'seconds'],
  cli: ['containers', 'runs', 'baseline-cli'],
  'apply-wait': ['hosts', 'containers', 'runs', 'baseline-cli'],
  'journal-open': ['days', 'runs'],
  soak: ['minutes', 'days', 'hosts', 'containers', 'agent-env'],
  pull: ['megabytes', 'runs'],
  logs: ['megabytes', 'runs', 'containers'],
  mesh: ['megabytes', 'iterations', 'runs'],
  dashboard: ['hosts', 'seconds', 'heartbeat', 'node-options', 'runs'],
  smoke: [],
  all: [],
};

interface Parsed {
  readonly command: Command | undefined;
  readonly values: Values;
}

function parse(argv: readonly string[]): Parsed {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: undefined, values };
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError(`missing benchmark: expected one of ${COMMANDS.join(', ')}`);
  if (!isCommand(command)) throw new UsageError(`unknown benchmark "${command}": expected one of ${COMMANDS.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  for (const name of Object.keys(values) as OptionName[]) {
    if (name === 'json' || name === 'help') continue;
    if (!ALLOWED[command].includes(name)) throw new UsageError(`option --${name} does not apply to "${command}"${ALLOWED[command].length > 0 ? ` (it takes ${ALLOWED[command].map((n) => `--${n}`).join(', ')})` : ' (it runs every benchmark with its defaults)'}`);
  }
  return { command, values };
}

function isCommand(text: string): text is Command {
  return (COMMANDS as readonly string[]).includes(text);
}

function integer(values: Values, name: OptionName, fallback: number, min: number, max: number): number {
  const text = values[name];
  if (text === undefined) return fallback;
  if (typeof text !== 'string' || !/^\d+$/.test(text.trim())) throw new UsageError(`--${name} must be a whole number, got "${String(text)}"`);
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${text}`);
  return value;
}

function integerList(values: Values, name: OptionName, fallback: readonly number[], min: number, max: number): number[] {
  const text = values[name];
  if (text === undefined) return [...fallback];
  if (typeof text !== 'string') throw new UsageError(`--${name} takes numbers separated by commas`);
  return text.split(',').map((part) => integer({ [name]: part }, name, 0, min, max));
}

function agentEnvironments(text: string | boolean | undefined): AgentEnvironmentName[] {
  if (text === undefined) return ['unit'];
  const names = typeof text === 'string' ? text.split(',').map((part) => part.trim()) : [];
  const unknown = names.find((name) => !(AGENT_ENVIRONMENTS as readonly string[]).includes(name));
  if (names.length === 0 || unknown !== undefined) throw new UsageError(`--agent-env takes ${AGENT_ENVIRONMENTS.join(' or ')}, separated by commas; got "${String(text)}"`);
  return names as AgentEnvironmentName[];
}

async function run(command: Command, values: Values): Promise<BenchResult[]> {
  switch (command) {
    case 'converge': {
      const options = { containers: integer(values, 'containers', 20, 1, 1000), parallelism: integer(values, 'parallelism', 4, 1, 64), runs: integer(values, 'runs', 3, 1, 100), breakdown: values.breakdown === true };
      await checkEngine();
      return [await measured(() => runConverge(options))];
    }
    case 'noop': {
      const options = {
        containers: integer(values, 'containers', 100, 1, 1000),
        iterations: integer(values, 'iterations', 50, 1, 100_000),
        warmup: integer(values, 'warmup', 3, 0, 1000),
        parallelism: integer(values, 'parallelism', 4, 1, 64),
        breakdown: values.breakdown === true,
      };
      await checkEngine();
      return [await measured(() => runNoop(options))];
    }
    case 'planner': {
      const options = { services: integer(values, 'services', 10_000, 1, MAX_SERVICES), iterations: integer(values, 'iterations', 20, 1, 100_000), warmup: integer(values, 'warmup', 2, 0, 1000) };
      return [await measured(() => runPlanner(options))];
    }
    case 'render': {
      const sizes = integerList(values, 'actions', [1000, 4000, 20_000], 2, 200_000);
      const odd = sizes.find((size) => size % 2 === 1);
      if (odd !== undefined) throw new UsageError(`--actions ${odd}: expected an even count (a create and a start per service)`);
      const options = { sizes, iterations: integer(values, 'iterations', 5, 1, 1000) };
      return [await measured(() => runRender(options))];
    }
    case 'load-plan': {
      const baselineDist = values['baseline-dist'];
      const options = { sizes: integerList(values, 'services', [1000, 5000, 20_000], 1, MAX_SERVICES), iterations: integer(values, 'iterations', 3, 1, 100), ...(baselineDist === undefined ? {} : { baselineDist }) };
      return [await measured(() => runLoadPlan(options))];
    }
    case 'fleet': {
      const options = { hosts: integer(values, 'hosts', 3, 1, 20), containers: integer(values, 'containers', 5, 1, 100), writes: integer(values, 'iterations', 30, 1, 10_000) };
      await checkEngine();
      return [await measured(() => runFleet(options))];
    }
    case 'rollout': {
      const options = { hosts: integer(values, 'hosts', 4, 2, 20), containers: integer(values, 'containers', 3, 1, 100), maxParallel: integer(values, 'parallelism', 2, 1, 20) };
      await checkEngine();
      return [await measured(() => runRolloutBench(options))];
    }
    case 'peers': {
      const options = { containers: integer(values, 'containers', 20, 1, 500), parallelism: integer(values, 'parallelism', 4, 1, 64) };
      await checkEngine();
      return [await measured(() => runPeers(options))];
    }
    case 'scale': {
      const options = { sizes: integerList(values, 'hosts', [100, 300, 1000], 1, 5000), containers: integer(values, 'containers', 2, 1, 50), latencyMs: integer(values, 'latency', 50, 0, 10_000), workers: integer(values, 'workers', 0, 0, 16) };
      return [await measured(() => runScale(options))];
    }
    case 'endpoints': {
      const options = { readers: integer(values, 'readers', 10, 1, 200), changes: integer(values, 'changes', 50, 1, 10_000) };
      return [await measured(() => runEndpoints(options))];
    }
    case 'endpoints-scale': {
      const options = { hosts: integer(values, 'hosts', 1000, 1, 5000), services: integer(values, 'services', 20, 1, 1000), changes: integer(values, 'changes', 200, 1, 10_000), seconds: integer(values, 'seconds', 15, 1, 600) };
      return [await measured(() => runEndpointsScale(options))];
    }
    case 'signing': {
      const options = { services: integer(values, 'services', 20, 1, 10_000), iterations: integer(values, 'iterations', 200, 1, 100_000) };
      return [await measured(() => runSigning(options))];
    }
    case 'cli': {
      const baselineCli = values['baseline-cli'];
      const options = { containers: integer(values, 'containers', 20, 1, 200), runs: integer(values, 'runs', 10, 1, 200), ...(baselineCli === undefined ? {} : { baselineCli }) };
      await checkEngine();
      return [await measured(() => runCli(options))];
    }
    case 'apply-wait': {
      const baselineCli = values['baseline-cli'];
      const options = { hosts: integer(values, 'hosts', 3, 1, 20), containers: integer(values, 'containers', 2, 1, 50), runs: integer(values, 'runs', 5, 1, 50), ...(baselineCli === undefined ? {} : { baselineCli }) };
      await checkEngine();
      return [await measured(() => runApplyWait(options))];
    }
    case 'journal-open': {
      const options = { days: integer(values, 'days', 30, 1, 90), lifecyclesPerDay: 2533, runs: integer(values, 'runs', 5, 1, 50) };
      return [await measured(() => runJournalOpen(options))];
    }
    case 'soak': {
      const options = { minutes: integer(values, 'minutes', 30, 1, 1440), days: integer(values, 'days', 30, 1, 365), agents: integer(values, 'hosts', 2, 1, 10), containers: integer(values, 'containers', 3, 1, 20), agentEnvironments: agentEnvironments(values['agent-env']), churnEveryMs: 2_000, sampleEveryMs: 5_000 };
      await checkEngine();
      return [await measured(() => runSoak(options))];
    }
    case 'pull': {
      const options = { megabytes: integer(values, 'megabytes', 40, 1, 1000), runs: integer(values, 'runs', 5, 1, 50) };
      await checkEngine();
      return [await measured(() => runPull(options))];
    }
    case 'logs': {
      const options = { megabytes: integer(values, 'megabytes', 100, 1, 2000), runs: integer(values, 'runs', 3, 1, 50), chatty: integer(values, 'containers', 10, 0, 100), seconds: 15 };
      await checkEngine();
      return [await measured(() => runLogsBench(options))];
    }
    case 'mesh': {
      const options = { megabytes: integer(values, 'megabytes', 200, 1, 4000), iterations: integer(values, 'iterations', 2000, 10, 100_000), runs: integer(values, 'runs', 3, 1, 20) };
      return [await measured(() => runMesh(options))];
    }
    case 'dashboard': {
      const options = { hosts: integer(values, 'hosts', 10_000, 20, 20_000), seconds: integer(values, 'seconds', 30, 1, 600), heartbeatMs: integer(values, 'heartbeat', 5, 1, 60) * 1000, runs: integer(values, 'runs', 5, 1, 50), ...(values['node-options'] === undefined ? {} : { nodeOptions: values['node-options'] }) };
      return [await measured(() => runDashboardBench(options))];
    }
    case 'smoke': {
      await checkEngine();
      const steps: (() => Promise<BenchResult>)[] = [
        () => measured(() => runConverge({ containers: 2, parallelism: 4, runs: 1, breakdown: true })),
        () => measured(() => runNoop({ containers: 2, iterations: 3, warmup: 1, parallelism: 4, breakdown: true })),
        () => measured(() => runPlanner({ services: 200, iterations: 3, warmup: 1 })),
        () => measured(() => runRender({ sizes: [200], iterations: 2 })),
        () => measured(() => runLoadPlan({ sizes: [200], iterations: 1 })),
        () => measured(() => runFleet({ hosts: 1, containers: 1, writes: 2 })),
        () => measured(() => runRolloutBench({ hosts: 2, containers: 1, maxParallel: 1 })),
        () => measured(() => runPeers({ containers: 1, parallelism: 4 })),
        () => measured(() => runScale({ sizes: [5], containers: 1, latencyMs: 10, workers: 1 })),
        () => measured(() => runSigning({ services: 2, iterations: 3 })),
        () => measured(() => runEndpoints({ readers: 2, changes: 3 })),
        () => measured(() => runEndpointsScale({ hosts: 6, services: 2, changes: 3, seconds: 1 })),
        () => measured(() => runCli({ containers: 2, runs: 2 })),
        () => measured(() => runApplyWait({ hosts: 1, containers: 1, runs: 1 })),
        () => measured(() => runJournalOpen({ days: 1, lifecyclesPerDay: 200, runs: 1 })),
        () => measured(() => runPull({ megabytes: 1, runs: 1 })),
        () => measured(() => runLogsBench({ megabytes: 1, runs: 1, chatty: 1, seconds: 2 })),
        () => measured(() => runDashboardBench({ hosts: 20, seconds: 2, heartbeatMs: 5_000, runs: 1 })),
      ];
      const results: BenchResult[] = [];
      for (const step of steps) {
        throwIfInterrupted();
        results.push(await step());
      }
      return results;
    }
    case 'all': {
      await checkEngine();
      const converge = await measured(() => runConverge({ containers: 20, parallelism: 4, runs: 3, breakdown: false }));
      throwIfInterrupted();
      const noop = await measured(() => runNoop({ containers: 100, iterations: 50, warmup: 3, parallelism: 4, breakdown: false }));
      throwIfInterrupted();
      const planner = await measured(() => runPlanner({ services: 10_000, iterations: 20, warmup: 2 }));
      throwIfInterrupted();
      return [converge, noop, planner];
    }
  }
}

const TITLES: Record<BenchResult['benchmark'], string> = {
  converge: 'converge: Hostwright runCycle vs raw dockerode create+start',
  noop: 'noop: cycles on a converged host',
  planner: 'planner: diff + plan + gates (pure, no Docker)',
  render: 'render: the human plan of a new fleet file (rendering only, pure)',
  'load-plan': 'load-plan: fleet file text to plan JSON (pure, no Docker, no table)',
  fleet: 'fleet: apply over NATS to H agents vs one host doing the same work',
  rollout: 'rollout: waves over NATS vs the sum of single-host replacements per wave',
  peers: 'peers: Hostwright vs raw dockerode, docker-compose and Docker Swarm on one engine',
  scale: 'scale: hollow agents over NATS, one apply that changes every host',
  signing: 'signing: one desired document signed and verified, nkeys pure JS vs native crypto',
  endpoints: 'endpoints: registry propagation to every reader vs NATS KV watch latency',
  'endpoints-scale': 'endpoints-scale: the registry\'s central cost with H hollow hosts, per change and per second of refresh, vs idle',
  cli: 'cli: hostwright as separate processes (start-up included)',
  'apply-wait': 'apply-wait: hostwright apply --wait against real agents over NATS, spawn to exit',
  'journal-open': 'journal-open: a journal of D days of churn opened without retention and at its retention limit',
  soak: 'soak: agents under churn with retention time compressed, then SIGKILL and restart',
  pull: 'pull: an image from a local registry with auth, Hostwright vs docker pull',
  logs: 'logs: a container\'s output through the agent, NATS and the coordinator vs the engine\'s logs API',
  mesh: 'mesh: TCP between two hosts\' namespaces through the routed and WireGuard transports vs directly',
  dashboard: 'dashboard: simulated hosts heartbeating, the page in chromium and the dashboard process\'s RSS, vs an empty fleet',
};

function rowsOf(result: BenchResult): [string, string][] {
  switch (result.benchmark) {
    case 'converge':
      return convergeRows(result);
    case 'noop':
      return noopRows(result);
    case 'planner':
      return plannerRows(result);
    case 'render':
      return renderRows(result);
    case 'load-plan':
      return loadPlanRows(result);
    case 'fleet':
      return fleetRows(result);
    case 'rollout':
      return rolloutRows(result);
    case 'peers':
      return peersRows(result);
    case 'scale':
      return scaleRows(result);
    case 'signing':
      return signingRows(result);
    case 'endpoints':
      return endpointsRows(result);
    case 'endpoints-scale':
      return endpointsScaleRows(result);
    case 'cli':
      return cliRows(result);
    case 'apply-wait':
      return applyWaitRows(result);
    case 'journal-open':
      return journalOpenRows(result);
    case 'soak':
      return soakRows(result);
    case 'pull':
      return pullRows(result);
    case 'logs':
      return logsRows(result);
    case 'mesh':
      return meshRows(result);
    case 'dashboard':
      return dashboardRows(result);
  }
}

function rowsWithLoad(result: BenchResult): [string, string][] {
  return [...rowsOf(result), ['1-min load average (start / end)', `${result.load_avg_1m.start} / ${result.load_avg_1m.end}`]];
}

function table(title: string, rows: readonly [string, string][]): string {
  const left = Math.max(...rows.map(([label]) => label.length));
  const right = Math.max(...rows.map(([, value]) => value.length));
  const rule = `+${'-'.repeat(left + 2)}+${'-'.repeat(right + 2)}+`;
  return [title, rule, ...rows.map(([label, value]) => `| ${label.padEnd(left)} | ${value.padEnd(right)} |`), rule].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  const { command, values } = parsed;
  if (command === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  // Benchmarks that make containers stop and clean up on Ctrl-C; the pure ones just exit.
  if (command !== 'planner' && command !== 'render' && command !== 'load-plan' && command !== 'signing' && command !== 'journal-open') installInterruptHandler();
  let results: BenchResult[];
  try {
    results = await run(command, values);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\nRun with --help for usage.\n`);
      return 2;
    }
    if (error instanceof InterruptedError) {
      process.stderr.write(`bench: ${command} interrupted; its containers were removed\n`);
      return 130;
    }
    process.stderr.write(`bench: ${command} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
  if (values.json) {
    const output = command === 'all' || command === 'smoke' ? { results } : results[0];
    process.stdout.write(`${JSON.stringify(output)}\n`);
  } else {
    process.stdout.write(`${results.map((result) => table(TITLES[result.benchmark], rowsWithLoad(result))).join('\n\n')}\n`);
  }
  return 0;
}

const code = await main(process.argv.slice(2));
// Idle keep-alive sockets to the engine must not hold the process open once the figures are out.
process.stdout.write('', () => process.exit(code));
