import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { agentConfigPath, loadAgentConfig, withAgentConfig } from '../../coordinator/cli/commands/agent/agent-config-file.js';
import { onceEachKey } from '../../coordinator/cli/commands/agent/agent-logger.js';
import { agentConfigOf } from '../../coordinator/cli/commands/agent/agent-install.js';
import type { AgentOptions } from '../../coordinator/cli/commands/agent/options.js';
import type { AgentConfig } from '../../shared/agent-config.js';
import { DEFAULT_AGENT_CONFIG_PATH } from '../../shared/agent-paths.js';
import { InvalidInputError } from '../../shared/errors.js';
import { STRICT_HOST_POLICY, hostPolicyFromFlags } from '../../agent/core/host-policy.js';

const FULL_CONFIG = [
  'host_id: h1',
  'labels:',
  '  role: web',
  '  zone: a',
  'nats:',
  '  servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222]',
  '  creds: /etc/hostwright/h1.nk',
  '  tls:',
  '    ca: /etc/hostwright/ca.pem',
  'coordinator_key: /etc/hostwright/coordinator-signing.pub',
  'curve_key: /etc/hostwright/h1.xk',
  'secrets_dir: /run/hostwright-secrets',
  'data_dir: /var/lib/hostwright',
  'parallel: 8',
  'resync: 1m',
  'heartbeat: 10s',
  'metrics_addr: 127.0.0.1:9464',
  'log_level: warn',
  'policy:',
  '  allow_privileged: true',
  '  allow_caps: [NET_ADMIN]',
  '  allow_host_paths: [/srv/data]',
  '  allow_security_opts: [seccomp=unconfined]',
  '  allow_sysctls: [kernel.panic]',
  '  allow_volume_drivers: [rclone]',
  '  allow_volume_types: [nfs]',
  '  allow_log_drivers: [syslog]',
  '  allow_secret_files: [/etc/hostwright/secrets]',
  '  allow_network_opts: [com.docker.network.bridge.name]',
  '',
].join('\n');

/** What commander gives `agent` with no flags at all: the declared defaults. */
const NO_FLAGS: AgentOptions = { resync: '30s', heartbeat: '5s', logLevel: 'info', namePrefix: '', allowCap: [], allowHostPath: [], label: [] };

async function withFile<T>(text: string, work: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'hw-agent-config-'));
  try {
    const path = join(dir, 'agent.yaml');
    await writeFile(path, text);
    return await work(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function loadError(text: string): Promise<string> {
  return withFile(text, async (path) => {
    try {
      await loadAgentConfig(path);
    } catch (error) {
      assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${String(error)}`);
      return error.message.replaceAll(path, 'agent.yaml');
    }
    assert.fail('expected the configuration file to be refused');
  });
}

describe('agent configuration file', () => {
  it('reads every setting the agent has as a flag', async () => {
    const config = await withFile(FULL_CONFIG, loadAgentConfig);
    assert.equal(config.host_id, 'h1');
    assert.deepEqual(config.labels, { role: 'web', zone: 'a' });
    assert.deepEqual(config.nats?.servers, ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']);
    assert.equal(config.policy?.allow_privileged, true);
    const options = withAgentConfig(NO_FLAGS, config, new Set(), {});
    assert.equal(options.hostId, 'h1');
    assert.equal(options.nats, 'nats://10.0.0.1:4222,nats://10.0.0.2:4222');
    assert.equal(options.creds, '/etc/hostwright/h1.nk');
    assert.equal(options.tlsCa, '/etc/hostwright/ca.pem');
    assert.equal(options.coordinatorKey, '/etc/hostwright/coordinator-signing.pub');
    assert.equal(options.dataDir, '/var/lib/hostwright');
    assert.equal(options.curveKey, '/etc/hostwright/h1.xk');
    assert.equal(options.secretsDir, '/run/hostwright-secrets');
    assert.equal(options.parallel, '8');
    assert.equal(options.resync, '1m');
    assert.equal(options.heartbeat, '10s');
    assert.equal(options.metricsAddr, '127.0.0.1:9464');
    assert.equal(options.logLevel, 'warn');
    assert.equal(options.allowPrivileged, true);
    assert.deepEqual(options.allowCap, ['NET_ADMIN']);
    assert.deepEqual(options.allowHostPath, ['/srv/data']);
    assert.deepEqual(options.label, ['role=web', 'zone=a']);
    assert.deepEqual(hostPolicyFromFlags(options), {
      ...STRICT_HOST_POLICY,
      allowPrivileged: true,
      allowCaps: ['NET_ADMIN'],
      allowHostPaths: ['/srv/data'],
      allowSecurityOpts: ['seccomp=unconfined'],
      allowSysctls: ['kernel.panic'],
      allowVolumeDrivers: ['rclone'],
      allowVolumeTypes: ['nfs'],
      allowLogDrivers: ['syslog'],
      allowSecretFiles: ['/etc/hostwright/secrets'],
      allowNetworkOpts: ['com.docker.network.bridge.name'],
    });
  });

  it('agent install writes each policy flag as its configuration key, and the agent reads the same policy back', () => {
    const installed = agentConfigOf({ hostId: 'h1', nats: 'nats://10.0.0.1:4222', allowUnsigned: true, label: [], allowCap: [], allowHostPath: ['/srv/data'], allowSecurityOpt: ['apparmor=unconfined'], allowSysctl: ['vm.*'], allowVolumeDriver: ['rclone'], allowVolumeType: ['nfs'], allowLogDriver: ['gelf'], allowSecretFile: ['/etc/hostwright/secrets'], allowNetworkOpt: ['com.docker.network.bridge.name'] }, '/var/lib/hostwright');
    assert.deepEqual(installed.policy, { allow_host_paths: ['/srv/data'], allow_security_opts: ['apparmor=unconfined'], allow_sysctls: ['vm.*'], allow_volume_drivers: ['rclone'], allow_volume_types: ['nfs'], allow_log_drivers: ['gelf'], allow_secret_files: ['/etc/hostwright/secrets'], allow_network_opts: ['com.docker.network.bridge.name'] });
    const policy = hostPolicyFromFlags(withAgentConfig(NO_FLAGS, installed, new Set(), {}));
    assert.deepEqual(policy, { ...STRICT_HOST_POLICY, allowHostPaths: ['/srv/data'], allowSecurityOpts: ['apparmor=unconfined'], allowSysctls: ['vm.*'], allowVolumeDrivers: ['rclone'], allowVolumeTypes: ['nfs'], allowLogDrivers: ['gelf'], allowSecretFiles: ['/etc/hostwright/secrets'], allowNetworkOpts: ['com.docker.network.bridge.name'] });
  });

  it('agent install writes --curve-key and --secrets-dir as absolute paths', () => {
    const installed = agentConfigOf({ hostId: 'h1', nats: 'nats://10.0.0.1:4222', allowUnsigned: true, label: [], allowCap: [], allowHostPath: [], curveKey: 'keys/h1.xk', secretsDir: '/run/hw-secrets' }, '/var/lib/hostwright');
    assert.equal(installed.curve_key, resolve('keys/h1.xk'));
    assert.equal(installed.secrets_dir, '/run/hw-secrets');
  });

  it('with no policy flags and no policy in the file, the agent\'s policy is the strict one', () => {
    assert.deepEqual(hostPolicyFromFlags(withAgentConfig(NO_FLAGS, { host_id: 'h1' }, new Set(), {})), STRICT_HOST_POLICY);
  });

  it('lets a flag given on the command line win, then the environment, then the file', () => {
    const config: AgentConfig = { host_id: 'h1', data_dir: '/var/lib/hostwright', resync: '1m', nats: { servers: 'nats://10.0.0.1:4222', creds: '/etc/hw/h1.nk' }, labels: { role: 'web', zone: 'a' }, policy: { allow_caps: ['NET_ADMIN'] } };
    const flags: AgentOptions = { ...NO_FLAGS, hostId: 'h2', resync: '5s', label: ['zone=b'], allowCap: ['SYS_PTRACE'] };
    const options = withAgentConfig(flags, config, new Set(['hostId', 'resync', 'label', 'allowCap']), { HOSTWRIGHT_CREDS: '/run/creds.nk', HOSTWRIGHT_DATA_DIR: '' });
    assert.equal(options.hostId, 'h2');
    assert.equal(options.resync, '5s');
    // Labels merge key by key; the flag's zone wins.
    assert.deepEqual(options.label, ['role=web', 'zone=a', 'zone=b']);
    assert.deepEqual(options.allowCap, ['SYS_PTRACE']);
    // $HOSTWRIGHT_CREDS is set: the file's creds give way (the option stays unset, so the variable is read).
    assert.equal(options.creds, undefined);
    // An empty variable counts as unset.
    assert.equal(options.dataDir, '/var/lib/hostwright');
    assert.equal(options.nats, 'nats://10.0.0.1:4222');
  });

  it('points each problem at its file, line and key', async () => {
    const message = await loadError(['host_id: h1', 'nats:', '  servers: http://nats:4222', 'data_dir: var/lib/hw', 'policy:', '  allow_caps: [NET_ADMIN, BOGUS]', '  allow_everything: true', 'resync: soon', ''].join('\n'));
    const lines = message.split('\n');
    assert.match(lines[0] ?? '', /^agent\.yaml:3:12 nats\.servers: /);
    assert.match(lines[1] ?? '', /^agent\.yaml:4:11 data_dir: expected an absolute path$/);
    assert.match(lines[2] ?? '', /^agent\.yaml:6:27 policy\.allow_caps\[1\]: unknown capability "BOGUS"/);
    assert.match(lines[3] ?? '', /^agent\.yaml:7:3 policy: unknown key "allow_everything"$/);
    assert.match(lines[4] ?? '', /^agent\.yaml:8:9 resync: expected a duration/);
    assert.equal(lines.length, 5);
  });

  it('refuses a flag name in place of its key, a YAML error and an empty file, saying so', async () => {
    assert.equal(await loadError('host-id: h1\n'), 'agent.yaml:1:1 (root): unknown key "host-id"');
    assert.match(await loadError('host_id: [h1\n'), /^agent\.yaml:2:1: YAML syntax error: /);
    assert.match(await loadError('\n'), /^agent\.yaml is empty: expected at least `host_id:` and `nats:`/);
    assert.match(await loadError('nats:\n  tls:\n    cert: /etc/hw/cert.pem\n  servers: nats://a:4222\n'), /^agent\.yaml:2:3 nats\.tls: cert and key go together/);
  });

  it('says when the file is missing', async () => {
    await assert.rejects(loadAgentConfig('/nonexistent/hostwright/agent.yaml'), { name: 'InvalidInputError', message: 'agent configuration file not found: /nonexistent/hostwright/agent.yaml' });
  });

  it('uses --config, else the default path when it exists and not in local mode', () => {
    assert.equal(agentConfigPath({ config: '/tmp/a.yaml' }, () => false), '/tmp/a.yaml');
    assert.equal(agentConfigPath({}, (path) => path === DEFAULT_AGENT_CONFIG_PATH), DEFAULT_AGENT_CONFIG_PATH);
    assert.equal(agentConfigPath({}, () => false), undefined);
    assert.equal(agentConfigPath({ local: true }, () => true), undefined);
  });
});

describe('the agent\'s log lines', () => {
  it('carry each key once, the innermost binding winning (a component\'s child, a restated host id)', () => {
    assert.equal(onceEachKey('{"level":30,"component":"agent","hostId":"h1","component":"reconciler","hostId":"h1","msg":"cycle finished"}\n'), '{"level":30,"component":"reconciler","hostId":"h1","msg":"cycle finished"}\n');
    assert.equal(onceEachKey('{"level":30,"msg":"plain"}\n'), '{"level":30,"msg":"plain"}\n');
    assert.equal(onceEachKey('not json\n'), 'not json\n');
  });
});
