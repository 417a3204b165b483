import { loadWorkload, type Workload } from '../workload-file.js';
import { workloadSourceOf, type WorkloadOptions } from './options.js';
import { printable } from './render/printable.js';

/** Reads what -f names (fleet or compose files); warnings (an unset variable) go to stderr. */
export async function readWorkload(options: WorkloadOptions): Promise<Workload> {
  const workload = await loadWorkload(workloadSourceOf(options));
  for (const warning of workload.warnings) process.stderr.write(`warning: ${printable(warning)}\n`);
  return workload;
}
