import { z } from 'zod';
import { boundedString } from './bounded.js';
import { byteSizeSchema } from './byte-size.js';
import { MAX_VOLUME_LENGTH } from './limits.js';

// A service's `volumes:` entries: compose's short syntax ("data:/path[:ro]", "/host:/path") or
// its long syntax ({ type: volume | bind | tmpfs, source, target, read_only, bind, volume, tmpfs }).

/**
 * The flags a short-syntax entry may end with, as compose and the engine take them: access, SELinux
 * relabelling, a named volume's nocopy, the consistency hints (no effect on Linux) and propagation.
 */
export const SHORT_VOLUME_FLAGS = ['ro', 'rw', 'z', 'Z', 'nocopy', 'cached', 'delegated', 'consistent', 'rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'] as const;

/** "source:/container/path[:flag,flag…]" where source is a volume name or an absolute host path. */
export const shortVolumeSchema = boundedString(MAX_VOLUME_LENGTH)
  .regex(/^(?:[A-Za-z0-9][A-Za-z0-9_.-]*|\/[^:]*):\/[^:]*(?::[^:]*)?$/, 'expected "volume-or-/host/path:/container/path[:ro]"')
  .superRefine((entry, ctx) => {
    const flags = entry.split(':')[2];
    if (flags === undefined) return;
    const unknown = flags.split(',').filter((flag) => !(SHORT_VOLUME_FLAGS as readonly string[]).includes(flag));
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown volume flag ${unknown.map((flag) => JSON.stringify(flag)).join(', ')} (expected ${SHORT_VOLUME_FLAGS.join(', ')}, comma-separated)` });
    const access = flags.split(',').filter((flag) => flag === 'ro' || flag === 'rw');
    if (access.length > 1) ctx.addIssue({ code: 'custom', message: 'give ro or rw once' });
  });

/** A short-syntax entry that uses a flag beyond ro/rw (an agent before 0.2.0 reads ro and rw only). */
export function hasVolumeFlags(entry: VolumeEntry): boolean {
  return typeof entry === 'string' && (entry.split(':')[2] ?? '').split(',').some((flag) => flag !== '' && flag !== 'ro' && flag !== 'rw');
}

const pathSchema = boundedString(MAX_VOLUME_LENGTH);

/** compose's long syntax, as the Compose Specification writes it. */
export const longVolumeSchema = z
  .strictObject({
    type: z.enum(['volume', 'bind', 'tmpfs'], { error: 'expected type volume, bind or tmpfs' }),
    source: pathSchema.min(1).optional(),
    target: pathSchema.regex(/^\/[^:]*$/, 'expected an absolute path in the container (no ":")'),
    read_only: z.boolean().optional(),
    bind: z.strictObject({ create_host_path: z.boolean().optional(), propagation: z.enum(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']).optional() }).optional(),
    volume: z.strictObject({ nocopy: z.boolean().optional(), subpath: pathSchema.regex(/^[^/]/, 'expected a path inside the volume (relative)').optional() }).optional(),
    tmpfs: z.strictObject({ size: byteSizeSchema.optional(), mode: z.number().int().min(0).max(0o7777).optional() }).optional(),
  })
  .superRefine((mount, ctx) => {
    if (mount.type === 'volume' && (mount.source === undefined || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(mount.source))) ctx.addIssue({ code: 'custom', path: ['source'], message: 'type volume needs a source naming a volume declared in the top-level volumes:' });
    if (mount.type === 'bind' && !mount.source?.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['source'], message: 'type bind needs an absolute host path as its source' });
    if (mount.type === 'bind' && mount.source?.includes(':')) ctx.addIssue({ code: 'custom', path: ['source'], message: 'a host path with ":" cannot be mounted' });
    if (mount.type === 'tmpfs' && mount.source !== undefined) ctx.addIssue({ code: 'custom', path: ['source'], message: 'type tmpfs takes no source' });
    for (const kind of ['bind', 'volume', 'tmpfs'] as const) {
      if (mount[kind] !== undefined && mount.type !== kind) ctx.addIssue({ code: 'custom', path: [kind], message: `${kind} options need type: ${kind}` });
    }
  });
export type LongVolume = z.infer<typeof longVolumeSchema>;

/** One `volumes:` entry: a short-syntax string or a long-syntax mapping (each reports its own errors). */
export const volumeEntrySchema = z.custom<string | LongVolume>().superRefine((value, ctx) => {
  if (typeof value !== 'string' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    ctx.addIssue({ code: 'custom', message: 'expected "volume:/path" or a mapping with type and target', continue: false });
    return;
  }
  const result = (typeof value === 'string' ? shortVolumeSchema : longVolumeSchema).safeParse(value);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, continue: false });
});
export type VolumeEntry = z.infer<typeof volumeEntrySchema>;

/** The named volume an entry mounts ("data:/var/lib/x", or type volume), or undefined for a host path or tmpfs. */
export function namedVolumeOf(entry: VolumeEntry): string | undefined {
  // Checks of a whole project can run over entries already refused: take only what is well-formed.
  if (typeof entry !== 'string') return entry !== null && typeof entry === 'object' && entry.type === 'volume' && typeof entry.source === 'string' ? entry.source : undefined;
  if (entry.startsWith('/') || entry.startsWith('.') || entry.startsWith('~')) return undefined;
  const colon = entry.indexOf(':');
  return colon > 0 ? entry.slice(0, colon) : undefined;
}

/** The host path an entry bind-mounts, or undefined. */
export function hostPathOf(entry: VolumeEntry): string | undefined {
  if (typeof entry !== 'string') return entry !== null && typeof entry === 'object' && entry.type === 'bind' && typeof entry.source === 'string' ? entry.source : undefined;
  const source = entry.split(':')[0] ?? '';
  return source.startsWith('/') ? source : undefined;
}
