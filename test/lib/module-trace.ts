import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, type CliResult } from './cli.js';

const REGISTER = fileURLToPath(new URL('./module-trace-register.js', import.meta.url));

export interface TracedRun extends CliResult {
  /** npm packages the process loaded anything of (by the last node_modules/ in each path), sorted. */
  readonly packages: readonly string[];
}

/** Runs the CLI (or another build's main.js) as a user would, recording which packages it loads. */
export async function runCliTracingModules(args: readonly string[], env: Record<string, string> = {}, cli: string = CLI): Promise<TracedRun> {
  const dir = await mkdtemp(join(tmpdir(), 'hw-module-trace-'));
  const traceFile = join(dir, 'loaded.txt');
  try {
    const result = await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', REGISTER, cli, ...args], { env: { ...process.env, ...env, HW_MODULE_TRACE_FILE: traceFile }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    const loaded = (await readFile(traceFile, 'utf8')).split('\n').filter((line) => line !== '');
    return { ...result, packages: packagesOf(await withBundledSources(loaded)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The bundled CLI (dist/cli, deploy/bundle-cli.mjs) loads chunks, not package files: each loaded
 * chunk stands for the sources esbuild put into it, as its metafile lists them.
 */
async function withBundledSources(loaded: readonly string[]): Promise<string[]> {
  const bundleDir = join(dirname(CLI), '/');
  const chunks = loaded.map((entry) => (entry.startsWith('file://') ? fileURLToPath(entry) : entry)).filter((path) => path.startsWith(bundleDir));
  if (chunks.length === 0) return [...loaded];
  const metafile = JSON.parse(await readFile(join(bundleDir, 'metafile.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const root = resolve(bundleDir, '../..');
  const sources = chunks.flatMap((chunk) => Object.keys(metafile.outputs[relative(root, chunk)]?.inputs ?? {}).map((input) => join(root, input)));
  return [...loaded, ...sources];
}

export function packagesOf(loaded: readonly string[]): string[] {
  const names = new Set<string>();
  for (const entry of loaded) {
    const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(entry);
    if (match?.[1]) names.add(match[1]);
  }
  return [...names].sort();
}
