/** "busybox" and "docker.io/library/busybox:latest" name the same image; compare them as Docker does. */
export function normalizeImageRef(ref: string): string {
  let name = ref;
  const at = ref.indexOf('@');
  if (at >= 0) {
    // "name:tag@sha256:…" is pinned by its digest; the tag is only a label then.
    const repository = ref.slice(0, at);
    const lastSlash = repository.lastIndexOf('/');
    const tagAt = repository.lastIndexOf(':');
    name = (tagAt > lastSlash ? repository.slice(0, tagAt) : repository) + ref.slice(at);
  } else {
    const lastSlash = ref.lastIndexOf('/');
    const hasTag = ref.lastIndexOf(':') > lastSlash;
    if (!hasTag) name = `${ref}:latest`;
  }
  if (name.startsWith('docker.io/')) name = name.slice('docker.io/'.length);
  if (name.startsWith('library/')) name = name.slice('library/'.length);
  return name;
}

/** Docker Hub's registry host, as image references leave it implicit. */
export const DOCKER_HUB = 'docker.io';

/**
 * The registry an image reference pulls from: its first path component when that looks like a
 * host ("127.0.0.1:5000", "ghcr.io", "localhost"), Docker Hub otherwise, as the Docker CLI decides.
 */
export function registryHostOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = ref.slice(0, slash);
  if (first === 'localhost' || first.includes('.') || first.includes(':')) return first === 'index.docker.io' || first === 'registry-1.docker.io' ? DOCKER_HUB : first;
  return DOCKER_HUB;
}

/**
 * The host a config.json `auths` key names: "https://index.docker.io/v1/" is Docker Hub,
 * "https://127.0.0.1:5000" and "127.0.0.1:5000" the same registry (scheme and path dropped).
 */
export function registryHostOfAuthKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  return host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io' ? DOCKER_HUB : host;
}
