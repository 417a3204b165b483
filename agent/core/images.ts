/** "busybox" and "docker.io/library/busybox:latest" name the same image; compare them as Docker does. */
export function normalizeImageRef(ref: string): string {
  let name = ref;
  if (!ref.includes('@')) {
    const lastSlash = ref.lastIndexOf('/');
    const hasTag = ref.lastIndexOf(':') > lastSlash;
    if (!hasTag) name = `${ref}:latest`;
  }
  if (name.startsWith('docker.io/')) name = name.slice('docker.io/'.length);
  if (name.startsWith('library/')) name = name.slice('library/'.length);
  return name;
}
