import type Docker from 'dockerode';
import { createRequire, Module } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * Modules dockerode and docker-modem require when they load, for features Hostwright never uses:
 * BuildKit sessions (`buildImage` v2: gRPC + protobufjs) and the ssh:// transport (ssh2). Loading
 * them is ~60% of dockerode's load time, which a short CLI command pays on every run.
 */
const UNUSED_ON_LOAD = ['dockerode/lib/session.js', 'docker-modem/lib/ssh.js'] as const;

/**
 * The dockerode class, loaded with its BuildKit-session and SSH modules deferred: until one of them
 * is first called, the require cache holds a stand-in that loads the real module and calls it with
 * the same arguments. Both modules export a single function, so the stand-in is exact. A file that
 * is not where dockerode 4 / docker-modem 5 keep it, or a dockerode already loaded, is left alone.
 */
export function loadDockerode(): typeof Docker {
  const dockerodeEntry = requireHere.resolve('dockerode');
  if (requireHere.cache[dockerodeEntry] === undefined) {
    // docker-modem is dockerode's dependency: resolve it from dockerode's place.
    const requireFromDockerode = createRequire(dockerodeEntry);
    for (const request of UNUSED_ON_LOAD) {
      const filename = resolveOrUndefined(requireFromDockerode, request);
      if (filename !== undefined) deferUntilCalled(filename);
    }
  }
  return requireHere('dockerode') as typeof Docker;
}

function resolveOrUndefined(require: NodeJS.Require, request: string): string | undefined {
  try {
    return require.resolve(request);
  } catch {
    return undefined;
  }
}

function deferUntilCalled(filename: string): void {
  if (requireHere.cache[filename] !== undefined) return;
  const standIn = new Module(filename);
  standIn.filename = filename;
  standIn.loaded = true;
  let real: ((...args: unknown[]) => unknown) | undefined;
  standIn.exports = (...args: unknown[]): unknown => {
    if (real === undefined) {
      delete requireHere.cache[filename];
      real = requireHere(filename) as (...args: unknown[]) => unknown;
    }
    return real(...args);
  };
  requireHere.cache[filename] = standIn;
}
