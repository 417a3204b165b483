import { stringify } from 'yaml';
import { maskServices } from '../../../../shared/secret-env.js';
import type { Workload } from '../../../workload-file.js';
import { printableJson } from '../../render/printable.js';
import { readWorkload } from '../../workload.js';
import type { ConvertOptions } from './options.js';

/** `convert`: what -f reads as, printed; the YAML is a fleet file Hostwright takes as it is. */
export async function convert(options: ConvertOptions): Promise<void> {
  const workload = await readWorkload(options);
  process.stdout.write(options.json ? `${printableJson(convertJson(workload), 2)}\n` : renderConverted(workload));
}

/** The JSON of `convert --json` (docs/json.md, hostwright.convert/v1). */
export function convertJson(workload: Workload): Record<string, unknown> {
  return { schema: 'hostwright.convert/v1', kind: workload.kind, files: workload.files, fleet: maskServices(workload.fleet), rollout: workload.rollout };
}

/** The model as a fleet file (inline secrets as their digests); rollout defaults (which a fleet file does not hold) as a comment above it. */
export function renderConverted(workload: Workload): string {
  const header = [`# read from ${workload.files.join(', ')} (${workload.kind === 'compose' ? 'compose' : 'fleet file'})`];
  const rollout = Object.entries(workload.rollout);
  if (rollout.length > 0) header.push(`# rollout defaults: ${rollout.map(([key, value]) => `${key}=${String(value)}`).join(', ')}`);
  return `${header.join('\n')}\n${stringify(maskServices(workload.fleet), { aliasDuplicateObjects: false, lineWidth: 0 })}`;
}
