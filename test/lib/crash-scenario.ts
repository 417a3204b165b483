import { desired, service } from './builders.js';

/**
 * The crash test's desired state at `revision`: `count` instances of web on a project volume
 * `data`, always on the project's `default` network and, at odd revisions, on a second network
 * `extra` too, so that the kills land in network creates and removals as well as in container
 * changes (every revision replaces all instances: VERSION changes).
 */
export function crashTestDesired(project: string, revision: number, count: number) {
  const networks = revision % 2 === 1 ? ['default', 'extra'] : ['default'];
  return desired(project, { web: service({ replicas: count, env: { VERSION: String(revision) }, volumes: ['data:/data'], networks }) }, { revision, volumes: { data: {} }, ...(revision % 2 === 1 ? { networks: { extra: {} } } : {}) });
}

/** The networks a revision wants, by engine name (the crash child runs without a name prefix). */
export function crashTestNetworks(project: string, revision: number): string[] {
  return (revision % 2 === 1 ? ['default', 'extra'] : ['default']).map((key) => `${project}_${key}`).sort();
}
