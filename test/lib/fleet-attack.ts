/**
 * What a compromised host can do with its own credentials, as raw NATS clients, against the
 * config `hostwright fleet init` generates; and a view of the fleet's JetStream state (read as the
 * coordinator) to prove an attempt changed nothing. Everything here reads the generated files and
 * the server itself, not Hostwright's own permission code, so it judges any build.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createUser } from '@nats-io/nkeys';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import { unpack } from 'msgpackr';
import { openSignedDocument } from '../../shared/signed-document.js';

export const FLEET_STREAMS = ['HW_EVENTS', 'KV_hw_desired', 'KV_hw_hosts', 'KV_hw_status', 'KV_hw_rollouts', 'KV_hw_endpoints'] as const;

/**
 * The generated accounts.conf with one user added to the fleet account, without permissions: the
 * test's observer, which lists consumers and streams the coordinator's own user may not. The
 * generated text is otherwise unchanged. Returns the new file and the observer's seed.
 */
export async function withObserver(dir: string): Promise<{ readonly accountsFile: string; readonly seed: string }> {
  const observer = createUser();
  const text = await readFile(join(dir, 'accounts.conf'), 'utf8');
  const at = text.indexOf('    users: [\n');
  if (at < 0) throw new Error('accounts.conf: no users list');
  const insert = `    users: [\n      # test observer\n      { nkey: ${JSON.stringify(observer.getPublicKey())} }\n`;
  const accountsFile = join(dir, 'accounts-with-observer.conf');
  await writeFile(accountsFile, text.slice(0, at) + insert + text.slice(at + '    users: [\n'.length));
  return { accountsFile, seed: new TextDecoder().decode(observer.getSeed()) };
}

export async function seedOf(dir: string, who: string): Promise<string> {
  return (await readFile(who === 'coordinator' ? join(dir, 'coordinator.nk') : join(dir, 'hosts', `${who}.nk`), 'utf8')).trim();
}

/** A raw client with a host's seed (and its inbox prefix, which its user may subscribe below). */
export async function connectAs(url: string, seed: string, inboxPrefix?: string): Promise<NatsConnection> {
  return connect({ servers: url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), timeout: 5_000, reconnect: false, ...(inboxPrefix ? { inboxPrefix } : {}) });
}

/** The publish allow list the generated accounts.conf gives a host's user. */
export async function hostPublishAllowList(dir: string, hostId: string): Promise<string[]> {
  const text = await readFile(join(dir, 'accounts.conf'), 'utf8');
  const at = text.indexOf(`# host ${hostId}\n`);
  if (at < 0) throw new Error(`accounts.conf has no user for host ${hostId}`);
  const line = /publish: \{ allow: (\[.*\]) \}/.exec(text.slice(at))?.[1];
  if (!line) throw new Error(`accounts.conf: no publish allow list for host ${hostId}`);
  return JSON.parse(line) as string[];
}

/** A concrete subject for an allow-list entry: wildcards filled with harmless tokens. */
export function concreteSubject(pattern: string): string {
  return pattern
    .split('.')
    .map((token) => (token === '*' ? 'probe' : token === '>' ? 'probe.applied' : token))
    .join('.');
}

/**
 * Every reply subject in the fleet's namespace an attacker would aim at: the JetStream API of each
 * stream and consumer, every bucket key of other hosts (and the attacker's own desired keys),
 * other hosts' event, plan, retry, pull and inbox subjects, and the coordinator's inbox.
 */
export function hostileReplies(attacker: string, victim: string, project: string, durables: readonly { stream: string; name: string }[]): string[] {
  const perStream = FLEET_STREAMS.flatMap((stream) => [
    `$JS.API.STREAM.PURGE.${stream}`,
    `$JS.API.STREAM.DELETE.${stream}`,
    `$JS.API.STREAM.UPDATE.${stream}`,
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.DELETE.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.STREAM.SNAPSHOT.${stream}`,
    `$JS.API.STREAM.LEADER.STEPDOWN.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.evil`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.evil`,
    `$JS.API.CONSUMER.LIST.${stream}`,
    `$JS.API.CONSUMER.NAMES.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
  ]);
  const perDurable = durables.flatMap(({ stream, name }) => [`$JS.API.CONSUMER.DELETE.${stream}.${name}`, `$JS.API.CONSUMER.INFO.${stream}.${name}`, `$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`, `$JS.ACK.${stream}.${name}.1.1.1.1.0`]);
  return [
    '$JS.API.INFO',
    '$JS.API.STREAM.CREATE.EVIL',
    '$JS.API.STREAM.LIST',
    '$JS.API.STREAM.NAMES',
    '$JS.API.META.LEADER.STEPDOWN',
    '$JS.API.ACCOUNT.PURGE.HOSTWRIGHT',
    ...perStream,
    ...perDurable,
    `$KV.hw_desired.${victim}.${project}`,
    `$KV.hw_desired.${attacker}.${project}`,
    `$KV.hw_status.${victim}`,
    `$KV.hw_hosts.${victim}`,
    `$KV.hw_rollouts.${project}`,
    `$KV.hw_rollouts.evil`,
    `hw.events.${victim}.${project}.applied`,
    `hw.rpc.${victim}.plan`,
    `hw.rpc.${attacker}.plan`,
    `hw.rpc.${victim}.retry`,
    `hw.rpc.${attacker}.retry`,
    `hw.rpc.${victim}.pull`,
    `hw.rpc.${attacker}.pull`,
    `_INBOX.evil`,
    `_INBOX_${victim}.evil`,
  ];
}

export interface StreamView {
  readonly config: string;
  /** Message count by subject, without the attacker's own subjects (it may write those). */
  readonly subjects: Readonly<Record<string, number>>;
  /** Durable consumers with their config (the coordinator's own short-lived readers left out). */
  readonly durables: Readonly<Record<string, string>>;
  /** Messages deleted from the middle of the event stream (in a bucket, a key's newer value deletes its older ones). */
  readonly deleted: number;
}

/**
 * The fleet's streams as the coordinator sees them, leaving out what the attacker may change
 * itself (its own keys and event subjects) and what changes by itself (heartbeats of `busy` hosts).
 */
export async function fleetView(jsm: JetStreamManager, attacker: string, busy: readonly string[]): Promise<Record<string, StreamView>> {
  const own = (subject: string) => subject.split('.').includes(attacker);
  const heartbeat = (subject: string) => busy.some((hostId) => subject === `$KV.hw_hosts.${hostId}` || subject === `$KV.hw_status.${hostId}`);
  const views: Record<string, StreamView> = {};
  for (const stream of FLEET_STREAMS) {
    const info = await jsm.streams.info(stream, { subjects_filter: '>' });
    const subjects = Object.fromEntries(Object.entries(info.state.subjects ?? {}).filter(([subject]) => !own(subject) && !heartbeat(subject)).sort());
    const durables: Record<string, string> = {};
    for await (const consumer of jsm.consumers.list(stream)) {
      if (consumer.config.durable_name) durables[consumer.name] = JSON.stringify({ ...consumer.config, deliver_subject: consumer.config.deliver_subject ?? null });
    }
    views[stream] = { config: JSON.stringify(info.config), subjects, durables, deleted: stream.startsWith('KV_') ? 0 : (info.state.num_deleted ?? 0) };
  }
  return views;
}

/** A host report's payload, signed or not: what the coordinator would decode. */
export function reportPayload(bytes: Uint8Array): Record<string, unknown> | undefined {
  let document = bytes;
  try {
    document = openSignedDocument(bytes).document;
  } catch {
    // An unsigned report (the build before signing).
  }
  try {
    const value = unpack(document) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
