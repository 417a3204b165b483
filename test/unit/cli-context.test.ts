import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliConfigSchema } from '../../shared/cli-config.js';
import { chosenContext, cliConfigPath, contextChoice, contextFills } from '../../coordinator/cli/cli-context.js';
import { editedContext } from '../../coordinator/cli/commands/context/context-edit.js';

const home = () => '/home/u';
const context = { nats: { servers: ['nats://127.0.0.1:1', 'nats://127.0.0.1:2'], creds: '~/fleet/coordinator.nk', tls: { ca: '/etc/ca.pem' } }, signing_key: '/k/coordinator-signing.nk', fleet_auth: '/fleet', as: 'alice' };

describe('CLI contexts (pure)', () => {
  it('the file is $HOSTWRIGHT_CONFIG, else under $XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(cliConfigPath({ HOSTWRIGHT_CONFIG: '/x.yaml', XDG_CONFIG_HOME: '/xdg' }, home), '/x.yaml');
    assert.equal(cliConfigPath({ HOSTWRIGHT_CONFIG: '', XDG_CONFIG_HOME: '/xdg' }, home), '/xdg/hostwright/config.yaml');
    assert.equal(cliConfigPath({}, home), '/home/u/.config/hostwright/config.yaml');
  });

  it('--context, then $HOSTWRIGHT_CONTEXT, then current_context choose', () => {
    const config = { current_context: 'a', contexts: { a: {}, b: {}, c: {} } };
    assert.deepEqual(contextChoice('c', config, { HOSTWRIGHT_CONTEXT: 'b' }), { name: 'c', from: '--context' });
    assert.deepEqual(contextChoice(undefined, config, { HOSTWRIGHT_CONTEXT: 'b' }), { name: 'b', from: 'HOSTWRIGHT_CONTEXT' });
    assert.deepEqual(contextChoice(undefined, config, { HOSTWRIGHT_CONTEXT: '' }), { name: 'a', from: 'current_context' });
    assert.equal(contextChoice(undefined, {}, {}), undefined);
    assert.throws(() => chosenContext({ name: 'bb', from: '--context' }, config, '/c.yaml'), /context "bb" \(from --context\) does not exist: \/c\.yaml has a, b, c; did you mean "b"\?/);
  });

  it('fills only the options a command takes that no flag and no variable set, with ~/ expanded', () => {
    const all = () => true;
    const none = () => false;
    assert.deepEqual(contextFills(context, all, none, {}, home), {
      nats: 'nats://127.0.0.1:1,nats://127.0.0.1:2',
      creds: '/home/u/fleet/coordinator.nk',
      tlsCa: '/etc/ca.pem',
      fleetAuth: '/fleet',
      signingKey: '/k/coordinator-signing.nk',
      as: 'alice',
    });
    // A read-only command has no --signing-key: the context gives it none.
    assert.equal(contextFills(context, (option) => option !== 'signingKey', none, {}, home).signingKey, undefined);
    // A flag wins; so does a set variable; an empty one does not.
    const fills = contextFills(context, all, (option) => option === 'creds', { HOSTWRIGHT_NATS: 'nats://127.0.0.1:9', HOSTWRIGHT_SIGNING_KEY: '' }, home);
    assert.deepEqual([fills.nats, fills.creds, fills.signingKey], [undefined, undefined, '/k/coordinator-signing.nk']);
  });

  it('context set keeps what is not given, stores paths absolute, and unsets on request', () => {
    const edited = editedContext(cliConfigSchema.parse({ contexts: { p: context } }).contexts?.p, { creds: 'new.nk', unset: ['as', 'tls-ca'] }, '/work');
    assert.deepEqual(edited, { nats: { servers: context.nats.servers, creds: '/work/new.nk' }, signing_key: context.signing_key, fleet_auth: '/fleet' });
    assert.deepEqual(editedContext(undefined, { nats: ['nats://127.0.0.1:4222'], signingKey: '~/k.nk' }, '/w'), { nats: { servers: 'nats://127.0.0.1:4222' }, signing_key: '~/k.nk' });
    assert.throws(() => editedContext(undefined, { creds: 'c.nk' }, '/w'), /give --nats URL too/);
    assert.throws(() => editedContext(undefined, { unset: ['password'] }, '/w'), /--unset password: expected one of nats, creds/);
  });

  it('the schema refuses key material in place of a path, and unknown keys', () => {
    assert.equal(cliConfigSchema.safeParse({ contexts: { p: { signing_key: 'SOAEXAMPLESEED' } } }).success, false);
    assert.equal(cliConfigSchema.safeParse({ contexts: { p: { password: 'x' } } }).success, false);
    assert.equal(cliConfigSchema.safeParse({ contexts: { 'bad name': {} } }).success, false);
    assert.equal(cliConfigSchema.safeParse({ current_context: 'p', contexts: { p: context } }).success, true);
  });
});
