import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../lib/cli.js';
import { readImportGraph } from '../lib/import-graph.js';

// dist/test/e2e/ -> the repository, where the TypeScript sources are.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const OWN = 'Options:';
const LOCAL = 'Local mode options:';
const CONNECTION = 'Connection options (fleet mode):';
const NATS = ['--fleet-auth', '--nats', '--creds', '--tls-ca', '--tls-cert', '--tls-key', '--context'];
const WORKLOAD = ['--file', '--project-name', '--profile', '--ignore-unsupported', '--allow-outside-project'];

/** What each command reads, by help section: what its --help must list, no more and no less. */
const EXPECTED: Record<string, Record<string, readonly string[]>> = {
  plan: { [OWN]: [...WORKLOAD, '--allow-empty', '--prune-volumes', '--json', '--out', '--timeout', '--allow-unregistered', '--detailed-exitcode'], [LOCAL]: ['--local', '--data-dir', '--host-id', '--label', '--image-grace'], [CONNECTION]: NATS },
  apply: { [OWN]: [...WORKLOAD, '--allow-empty', '--prune-volumes', '--parallel', '--wait', '--timeout', '--allow-unregistered', '--json', '--signing-key', '--as'], [LOCAL]: ['--local', '--data-dir', '--host-id', '--label', '--registry-auth', '--image-grace'], [CONNECTION]: NATS },
  status: { [OWN]: [...WORKLOAD, '--host', '--watch', '--json'], [LOCAL]: ['--local', '--data-dir', '--host-id', '--label'], [CONNECTION]: NATS },
  convert: { [OWN]: [...WORKLOAD, '--json'] },
  events: { [OWN]: ['--follow', '--type', '--host', '--project', '--since', '--json'], [LOCAL]: ['--local', '--data-dir'], [CONNECTION]: NATS },
  restart: { [OWN]: [...WORKLOAD, '--project', '--host', '--wait', '--timeout', '--json', '--signing-key'], [CONNECTION]: NATS },
  retry: { [OWN]: ['--project', '--host', '--timeout', '--json', '--signing-key'], [LOCAL]: ['--local', '--data-dir', '--host-id'], [CONNECTION]: NATS },
  logs: { [OWN]: ['--host', '--project', '--follow', '--since', '--until', '--tail', '--timestamps', '--json', '--timeout'], [CONNECTION]: NATS },
  hosts: { [OWN]: ['--json'], [CONNECTION]: NATS },
  'hosts cordon': { [OWN]: ['--reason', '--signing-key', '--json'], [CONNECTION]: NATS },
  'hosts uncordon': { [OWN]: ['--signing-key', '--json'], [CONNECTION]: NATS },
  'hosts label': { [OWN]: ['--signing-key', '--json'], [CONNECTION]: NATS },
  'hosts drain': { [OWN]: ['--deadline', '--dry-run', '--detach', '--force', '--signing-key', '--json'], [CONNECTION]: NATS },
  mesh: { [OWN]: ['--json'], [CONNECTION]: NATS },
  'mesh apply': { [OWN]: ['--fleet-range', '--block-prefix', '--port', '--dry-run', '--signing-key', '--json'], [CONNECTION]: NATS },
  ps: { [OWN]: [...WORKLOAD, '--project', '--host', '--json'], [CONNECTION]: NATS },
  down: { [OWN]: [...WORKLOAD, '--project', '--wait', '--timeout', '--json', '--signing-key', '--as'], [CONNECTION]: NATS },
  pull: { [OWN]: [...WORKLOAD, '--host', '--timeout', '--json', '--signing-key'], [CONNECTION]: NATS },
  rollback: { [OWN]: ['--rollout', '--host', '--project', '--to', '--dry-run', '--json', '--signing-key', '--as'], [CONNECTION]: NATS },
  history: { [OWN]: ['--project', '--host', '--json'], [CONNECTION]: NATS },
  dashboard: { [OWN]: ['--listen', '--token-file', '--allow-actions', '--signing-key', '--stale-after', '--json'], [CONNECTION]: NATS },
  diff: { [OWN]: [...WORKLOAD, '--project', '--host', '--json'], [CONNECTION]: NATS },
  rollout: { [OWN]: [...WORKLOAD, '--canary', '--max-parallel', '--min-healthy', '--healthy-deadline', '--max-failures', '--on-failure', '--order', '--skip-offline', '--pre-pull', '--pre-pull-timeout', '--allow-unregistered', '--detach', '--json', '--signing-key', '--as'], [CONNECTION]: NATS },
  'rollout status': { [OWN]: ['--watch', '--json'], [CONNECTION]: NATS },
  'rollout list': { [OWN]: ['--json'], [CONNECTION]: NATS },
  'rollout pause': { [OWN]: ['--json'], [CONNECTION]: NATS },
  'rollout resume': { [OWN]: ['--json', '--signing-key'], [CONNECTION]: NATS },
  'rollout abort': { [OWN]: ['--json'], [CONNECTION]: NATS },
  // The agent reads its local options in fleet mode too: they are its own.
  agent: {
    [OWN]: ['--local', '--data-dir', '--host-id', '--label', '--registry-auth', '--image-grace', ...WORKLOAD, '--config', '--resync', '--heartbeat', '--parallel', '--name-prefix', '--metrics-addr', '--coordinator-key', '--allow-unsigned', '--curve-key', '--secrets-dir', '--allow-privileged', '--allow-devices', '--allow-cap', '--allow-host-path', '--allow-host-network', '--allow-security-opt', '--allow-sysctl', '--allow-volume-driver', '--allow-volume-type', '--allow-log-driver', '--allow-secret-file', '--allow-network-opt', '--allow-exec', '--mesh-endpoint', '--mesh-interface', '--log-level'],
    [CONNECTION]: ['--nats', '--creds', '--tls-ca', '--tls-cert', '--tls-key'],
  },
  'keys generate': { [OWN]: ['--out'] },
  'fleet init': { [OWN]: ['--dir', '--host', '--listen', '--store-dir', '--tls-ca', '--tls-cert', '--tls-key'] },
  'fleet add-host': { [OWN]: ['--dir', '--rotate'] },
  'fleet remove-host': { [OWN]: ['--dir'] },
  'fleet regenerate': { [OWN]: ['--dir'] },
  'fleet add-user': { [OWN]: ['--dir', '--role', '--rotate'] },
  'fleet remove-user': { [OWN]: ['--dir'] },
  exec: { [OWN]: ['--host', '--project', '--interactive', '--tty', '--as', '--timeout', '--signing-key'], [CONNECTION]: NATS },
  'fleet setup': { [CONNECTION]: ['--nats', '--creds', '--tls-ca', '--tls-cert', '--tls-key'] },
  'context list': { [OWN]: ['--json'] },
  'context show': { [OWN]: ['--json'] },
  'context set': { [OWN]: ['--nats', '--creds', '--tls-ca', '--tls-cert', '--tls-key', '--signing-key', '--fleet-auth', '--as', '--unset', '--use'] },
};

/** The long options of a help text, by section heading, in order; --help itself left out. */
function helpSections(text: string): Record<string, string[]> {
  const sections: Record<string, string[]> = {};
  let heading: string | undefined;
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) heading = line;
    const option = /^ {2}(?:-\w, )?(--[a-z][a-z-]*)/.exec(line)?.[1];
    if (heading === undefined || option === undefined || option === '--help' || !/^(Options|.* options.*):$/.test(heading)) continue;
    (sections[heading] ??= []).push(option);
  }
  return sections;
}

function camelCase(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

describe('each command\'s --help lists the options it uses', () => {
  it('its own first, then local mode\'s, then the connection options under one heading', async () => {
    for (const [command, expected] of Object.entries(EXPECTED)) {
      const result = await runCli([...command.split(' '), '--help']);
      assert.equal(result.code, 0, `${command} --help: ${result.stderr}`);
      const sections = helpSections(result.stdout);
      assert.deepEqual(sections, expected, `hostwright ${command} --help`);
      assert.deepEqual(Object.keys(sections), [OWN, LOCAL, CONNECTION].filter((heading) => heading in expected), `${command}: section order`);
    }
  });

  it('events, status and retry list no option of pulls or image cleanup (issue: events --help listed --image-grace and --registry-auth)', async () => {
    for (const command of ['events', 'status', 'retry']) {
      const { stdout } = await runCli([command, '--help']);
      assert.doesNotMatch(stdout, /--image-grace|--registry-auth/, command);
      assert.match(stdout, /Connection options \(fleet mode\):\n {2}--fleet-auth/, command);
    }
  });

  it('every option a command lists is read by the CLI code that command runs (its command folder and the helpers it imports)', () => {
    const graph = readImportGraph(ROOT, ['coordinator/cli']);
    const reachable = (start: string): Set<string> => {
      const seen = new Set<string>([start]);
      const pending = [start];
      while (pending.length > 0) {
        const file = pending.pop() as string;
        for (const edge of graph.edges) {
          if (edge.from !== file || edge.kind === 'type' || seen.has(edge.to) || !edge.to.startsWith('coordinator/cli/')) continue;
          seen.add(edge.to);
          pending.push(edge.to);
        }
      }
      return seen;
    };
    // The reader finds what it should: main.ts reaches every command's implementation.
    assert.ok(reachable('coordinator/cli/main.ts').has('coordinator/cli/commands/events/events-local.ts'));
    for (const [command, sections] of Object.entries(EXPECTED)) {
      const top = command.split(' ')[0] as string;
      // A command folder's options.ts declares the option types: a declaration is not a read.
      const files = [...reachable(`coordinator/cli/commands/${top}/register.ts`)].filter((file) => !/^coordinator\/cli\/commands\/[^/]+\/options\.ts$/.test(file));
      const code = files.map((file) => readFileSync(join(ROOT, file), 'utf8')).join('\n');
      for (const flag of Object.values(sections).flat()) {
        const name = camelCase(flag);
        assert.ok(new RegExp(`\\.${name}\\b|[{,]\\s*${name}\\s*[,}]`).test(code), `hostwright ${command} lists ${flag}, which no code it runs reads (options.${name})`);
      }
    }
  });
});
