import { InvalidInputError } from '../../shared/errors.js';
import { nameSchema } from '../../shared/fleet-spec.js';
import { hasFile, type WorkloadOptions } from './options.js';
import { readWorkload } from './workload.js';

/**
 * The project a command names, by -f (the file's project) or --project; undefined when neither is
 * given and `required` is false. Both at once is refused: they could disagree.
 */
export async function projectOf(command: string, options: WorkloadOptions & { readonly project?: string }, required: boolean): Promise<string | undefined> {
  if (hasFile(options) && options.project !== undefined) throw new InvalidInputError(`${command}: pass -f FILE or --project NAME, not both`);
  if (hasFile(options)) return (await readWorkload(options)).fleet.project;
  if (options.project !== undefined) {
    if (!nameSchema.safeParse(options.project).success) throw new InvalidInputError(`${command} --project ${options.project}: not a project name (lowercase letters, digits, "-" or "_", at most 63, starting with a letter or digit)`);
    return options.project;
  }
  if (required) throw new InvalidInputError(`${command}: name the project: -f FILE (its project) or --project NAME`);
  return undefined;
}
