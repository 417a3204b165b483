import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function,
 * optionally only under one function (e.g. `--under planOnce`).
 * Usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top 25] [--under <function name>] [--lines <function name>]
 * --lines lists the hottest lines (of the emitted .js) inside one function's own code.
 */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
  /** Samples per source line (of the emitted .js file) while this node was on top of the stack. */
  readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function label(frame: CallFrame): string {
  const file = frame.url.split('/').slice(-2).join('/');
  return `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`;
}

export function summarizeProfile(profile: CpuProfile, top: number, under: string | undefined): string {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const sampled = new Map<number, number>();
  profile.samples.forEach((id, index) => sampled.set(id, (sampled.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of sampled) {
    const path: string[] = [];
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const node = nodes.get(current);
      if (node) path.push(label(node.callFrame));
    }
    if (under !== undefined && !path.some((entry) => entry.startsWith(`${under} `))) continue;
    total += micros;
    const leaf = path[0] ?? '(unknown)';
    self.set(leaf, (self.get(leaf) ?? 0) + micros);
    for (const entry of new Set(path)) inclusive.set(entry, (inclusive.get(entry) ?? 0) + micros);
  }
  const list = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => `${(micros / 1000).toFixed(0).padStart(8)} ms ${((100 * micros) / Math.max(total, 1)).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  return [`sampled ${(total / 1000).toFixed(0)} ms${under ? ` under ${under}` : ''}`, '--- self time ---', list(self), '--- inclusive time ---', list(inclusive)].join('\n');
}

/** Self-time samples per line of the emitted .js inside every function named `name`. */
export function hotLines(profile: CpuProfile, name: string, top: number): string {
  const lines = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    if (node.callFrame.functionName !== name) continue;
    const file = node.callFrame.url.split('/').slice(-2).join('/');
    for (const tick of node.positionTicks ?? []) {
      const key = `${file}:${tick.line}`;
      lines.set(key, (lines.get(key) ?? 0) + tick.ticks);
      total += tick.ticks;
    }
  }
  const rows = [...lines]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([line, ticks]) => `${String(ticks).padStart(8)} ${((100 * ticks) / Math.max(total, 1)).toFixed(1).padStart(5)}%  ${line}`);
  return [`--- hottest lines of ${name} (${total} self samples) ---`, ...rows].join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string' }, under: { type: 'string' }, lines: { type: 'string' } }, allowPositionals: true });
  const [file] = positionals;
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top N] [--under <function>] [--lines <function>]\n');
    process.exitCode = 2;
    return;
  }
  const top = Number(values.top ?? '25');
  if (!Number.isInteger(top) || top < 1) throw new Error(`--top must be a positive whole number, got ${values.top}`);
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${summarizeProfile(profile, top, values.under)}\n`);
  if (values.lines !== undefined) process.stdout.write(`${hotLines(profile, values.lines, top)}\n`);
}

await main();
