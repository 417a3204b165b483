import { DataDirLockedError } from '../../../../shared/errors.js';
import type { HostwrightEvent } from '../../../../shared/events.js';
import { Journal } from '../../../../agent/store/journal.js';
import { defaultDataDir } from '../../options.js';
import { fetchAgentEvents } from '../../local-agent-client.js';
import { usePrivateUmask } from '../../private-umask.js';
import type { EventsOptions } from './options.js';

/** `events --local`: read from the journal, or through the running local agent that holds it. */
export async function localEvents(options: EventsOptions, print: (event: HostwrightEvent) => void): Promise<void> {
  // Opens the journal: what LevelDB creates later is 0600 too (process-wide, so set here and not in Journal).
  usePrivateUmask();
  const dataDir = options.dataDir ?? defaultDataDir();
  let journal: Journal;
  try {
    journal = await Journal.open(dataDir);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    // A running local agent holds the data dir: read through it.
    await fetchAgentEvents(dataDir, { follow: options.follow === true, onEvent: print });
    return;
  }
  try {
    let after = 0;
    for (;;) {
      const page = await journal.readEvents(after);
      page.events.forEach(({ seq: _seq, ...event }) => print(event));
      after = page.lastSeq;
      if (page.events.length > 0) continue;
      if (!options.follow) return;
      await new Promise<void>((resolve) => {
        const stop = journal.onEvents(() => {
          stop();
          resolve();
        });
        setTimeout(() => {
          stop();
          resolve();
        }, 1000);
      });
    }
  } finally {
    await journal.close();
  }
}
