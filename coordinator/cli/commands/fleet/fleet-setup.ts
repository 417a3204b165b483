import { errorMessage, HostwrightError } from '../../../../shared/errors.js';
import { setupFleet } from '../../../../shared/nats-connection.js';
import { parseStorageLimits } from '../../../../shared/stream-replicas.js';
import { cliLogger } from '../../cli-logger.js';
import { modeOf, type NatsOptions } from '../../options.js';

/**
 * `hostwright fleet setup`: creates or updates every stream and bucket to the settings the
 * coordinator checks at start, with the limits of $HOSTWRIGHT_STORAGE_LIMITS. Idempotent.
 */
export async function runFleetSetup(options: NatsOptions): Promise<void> {
  const mode = modeOf(options, 'fleet setup');
  if (mode.kind !== 'fleet') return;
  const limits = parseStorageLimits(process.env.HOSTWRIGHT_STORAGE_LIMITS);
  let results;
  try {
    results = await setupFleet({ servers: mode.natsUrl, name: 'hostwright-fleet-setup', logger: cliLogger(), waitOnFirstConnect: false, warnWeakDurability: false, access: mode.access, storageLimits: limits });
  } catch (error) {
    if (!/Permissions Violation/i.test(errorMessage(error))) throw error;
    throw new HostwrightError(`fleet setup: the NATS user of --creds may not create or update the fleet's streams (${errorMessage(error)}); pass the admin credentials \`fleet init\` wrote: --creds DIR/admin.nk (a fleet made before them gets them from \`hostwright fleet regenerate --dir DIR\`, then reload the server)`, { cause: error });
  }
  const lines = results.flatMap((result) => (result.outcome === 'updated' ? [`${result.stream}: updated`, ...result.changes.map((change) => `  ${change.field}: ${JSON.stringify(change.found ?? null)} -> ${JSON.stringify(change.expected)}`)] : [`${result.stream}: ${result.outcome}`]));
  process.stdout.write(`${lines.join('\n')}\n`);
}
