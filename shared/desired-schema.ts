import type { HostDesired } from './host-desired.js';
import { CONTAINER_OPTION_NAMES } from './container-options.js';
import { hasVolumeFlags } from './volume-mounts.js';
import { HOSTWRIGHT_VERSION } from './version.js';

export { HOSTWRIGHT_VERSION };

/**
 * Version skew between a coordinator and its agents. A desired document that uses a feature of a
 * newer schema says so (`schemaVersion`, and `minAgentVersion`, the first agent that reads it):
 * an agent of an older schema refuses it by name instead of guessing, and a coordinator refuses to
 * write it to a host whose agent registered an older schema. A document that needs only schema 1
 * carries neither field, so the agents before versioning (which refuse unknown fields) read it.
 */

/** The schema this build reads and writes. */
export const DESIRED_SCHEMA_VERSION = 5;

/** The Hostwright release whose agent first reads each schema. */
export const SCHEMA_AGENT_VERSIONS: Readonly<Record<number, string>> = { 1: '0.1.0', 2: '0.2.0', 3: '0.3.0', 4: '0.3.0', 5: '0.3.0' };


export interface DesiredFeature {
  readonly name: string;
  /** The first schema that has it. */
  readonly schema: number;
  readonly usedBy: (document: HostDesired) => boolean;
}

/** Every feature above schema 1 (the containers of 0.1.0): what each schema added. */
export const DESIRED_FEATURES: readonly DesiredFeature[] = [
  { name: 'container options (user, cap_add, ulimits, …)', schema: 2, usedBy: (document) => Object.values(document.services).some((service) => CONTAINER_OPTION_NAMES.some((option) => service[option] !== undefined)) },
  { name: 'project networks (networks:, network_mode)', schema: 2, usedBy: (document) => document.networks !== undefined || Object.values(document.services).some((service) => service.networks !== undefined || service.network_mode !== undefined) },
  { name: 'project volumes (volumes:)', schema: 2, usedBy: (document) => document.volumes !== undefined || document.pruneVolumes !== undefined },
  { name: 'healthcheck disable / start_interval', schema: 2, usedBy: (document) => Object.values(document.services).some((service) => service.healthcheck?.disable !== undefined || service.healthcheck?.start_interval !== undefined) },
  { name: 'start order (depends_on)', schema: 2, usedBy: (document) => Object.values(document.services).some((service) => service.depends_on !== undefined) },
  { name: 'short-syntax volume flags beyond ro and rw (z, Z, nocopy, propagation …)', schema: 2, usedBy: (document) => Object.values(document.services).some((service) => service.volumes.some(hasVolumeFlags)) },
  { name: 'long-syntax volumes entries', schema: 2, usedBy: (document) => Object.values(document.services).some((service) => service.volumes.some((entry) => typeof entry !== 'string')) },
  { name: 'the signing time (signedAt, the replay window)', schema: 3, usedBy: (document) => document.signedAt !== undefined },
  { name: 'secret and config files (secrets:, sealed to the host)', schema: 4, usedBy: (document) => Object.values(document.services).some((service) => service.secrets !== undefined) },
  { name: 'a restart retry limit (restart: on-failure:<n>)', schema: 4, usedBy: (document) => Object.values(document.services).some((service) => service.restart.startsWith('on-failure:')) },
  { name: 'restart generations (hostwright restart)', schema: 5, usedBy: (document) => document.restarts !== undefined },
  { name: 'services placed on other hosts (remotes:, the endpoint registry)', schema: 5, usedBy: (document) => document.remotes !== undefined },
  { name: 'the author of a write (author: signing key, NATS user, name)', schema: 5, usedBy: (document) => document.author !== undefined },
  { name: 'pull policies beyond missing and never (always, daily, weekly, every_<duration>)', schema: 2, usedBy: (document) => Object.values(document.services).some((service) => service.pull_policy !== 'missing' && service.pull_policy !== 'never') },
];

/** The schema a document needs, and the features that need more than schema 1. Pure. */
export function requiredSchema(document: HostDesired, features: readonly DesiredFeature[] = DESIRED_FEATURES): { schema: number; features: DesiredFeature[] } {
  const used = features.filter((feature) => feature.usedBy(document));
  return { schema: Math.max(1, ...used.map((feature) => feature.schema)), features: used };
}

/** The document as the coordinator writes it: stamped with the schema it needs (none for schema 1). Pure. */
export function stampSchema(document: HostDesired): HostDesired {
  const { schemaVersion: _version, minAgentVersion: _agent, ...content } = document;
  const { schema } = requiredSchema(content);
  return schema <= 1 ? content : { ...content, schemaVersion: schema, minAgentVersion: SCHEMA_AGENT_VERSIONS[schema] ?? HOSTWRIGHT_VERSION };
}

/**
 * Why this agent cannot read a decoded (not yet validated) document: it was written in a newer
 * schema. Checked before the schema, so the refusal names the version needed instead of the
 * fields this agent does not know. Pure.
 */
export function newerSchemaRefusal(raw: unknown, ownSchema = DESIRED_SCHEMA_VERSION, ownVersion = HOSTWRIGHT_VERSION): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const { schemaVersion, minAgentVersion } = raw as { schemaVersion?: unknown; minAgentVersion?: unknown };
  if (typeof schemaVersion !== 'number' || schemaVersion <= ownSchema) return undefined;
  const needed = typeof minAgentVersion === 'string' && /^[0-9A-Za-z.+-]{1,32}$/.test(minAgentVersion) ? minAgentVersion : `a release that reads schema ${schemaVersion}`;
  return `written in desired-state schema ${schemaVersion}, which this agent (${ownVersion}, schema ${ownSchema}) cannot read: needs agent version ≥ ${needed}; upgrade this host's agent`;
}

/**
 * Why a coordinator must not write this document to a host: its agent registered an older schema
 * (an agent that registers none predates versioning: schema 1). Pure.
 */
export function agentTooOld(document: HostDesired, agent: { readonly agentVersion: string; readonly desiredSchema?: number | undefined }): string | undefined {
  const agentSchema = agent.desiredSchema ?? 1;
  const { schema, features } = requiredSchema(document);
  if (schema <= agentSchema) return undefined;
  const needing = features.filter((feature) => feature.schema > agentSchema).map((feature) => feature.name);
  return `host ${document.hostId} runs agent ${agent.agentVersion} (desired-state schema ${agentSchema}), but project ${document.project} uses ${needing.join(', ')}, which need schema ${schema}: agent version ≥ ${SCHEMA_AGENT_VERSIONS[schema] ?? HOSTWRIGHT_VERSION}. Upgrade the agent on ${document.hostId} first, or place the project elsewhere`;
}
