import { basename, resolve } from 'node:path';

/**
 * A directory's name as compose makes a project name of it: lower case, only a-z, 0-9, "_" and
 * "-" kept, and no "_" or "-" at the start ("My App.v2" → "myappv2").
 */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

/** compose's order: `name:` in the files, else --project-name, else the first file's directory name. */
export function projectNameOf(options: { readonly fromFile: unknown; readonly fromFlag: string | undefined; readonly directory: string }): { name: string; from: 'name' | 'flag' | 'directory' } {
  if (typeof options.fromFile === 'string' && options.fromFile !== '') return { name: options.fromFile, from: 'name' };
  if (options.fromFlag !== undefined && options.fromFlag !== '') return { name: options.fromFlag, from: 'flag' };
  return { name: normalizeProjectName(basename(resolve(options.directory))), from: 'directory' };
}
