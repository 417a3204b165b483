import { HostwrightError, InvalidInputError, errorMessage } from '../../../../shared/errors.js';
import { setupFleet } from '../../../../shared/nats-connection.js';
import { parseStorageLimits } from '../../../../shared/stream-replicas.js';
import { cliLogger } from '../../cli-logger.js';
import { natsAccessOf, type NatsOptions } from '../../options.js';

/**
 * `hostwright fleet setup`: creates or updates every stream and bucket to the settings the
 * coordinator checks at start, with the limits of $HOSTWRIGHT_STORAGE_LIMITS. Idempotent.
 */
export async function runFleetSetup(options: NatsOptions): Promise<void> {
  const natsUrl = options.nats ?? process.env.HOSTWRIGHT_NATS;
  if (!natsUrl) throw new InvalidInputError('fleet setup: pass --nats URL (or set HOSTWRIGHT_NATS): the NATS server whose streams and buckets to set up');
  const limits = parseStorageLimits(process.env.HOSTWRIGHT_STORAGE_LIMITS);
  let results;
  try {
    results = await setupFleet({ servers: natsUrl, name: 'hostwright-fleet-setup', logger: cliLogger(), waitOnFirstConnect: false, warnWeakDurability: false, access: natsAccessOf(options), storageLimits: limits });
  } catch (error) {
    // Said without the server's words, which the top-level catch would take for a coordinator command's.
    if (!/Permissions Violation/i.test(errorMessage(error))) throw error;
    throw new HostwrightError(`fleet setup: the NATS user of --creds may not create or update the fleet's streams; pass the admin credentials \`fleet init\` wrote: --creds DIR/admin.nk (a fleet made before them gets them from \`hostwright fleet regenerate --dir DIR\`, then reload the server)`, { cause: error });
  }
  const lines = results.flatMap((result) => (result.outcome === 'updated' ? [`${result.stream}: updated`, ...result.changes.map((change) => `  ${change.field}: ${JSON.stringify(change.found ?? null)} -> ${JSON.stringify(change.expected)}`)] : [`${result.stream}: ${result.outcome}`]));
  process.stdout.write(`${lines.join('\n')}\n`);
}
