#!/usr/bin/env node
// The process entry (bin `hostwright`): checks the Node.js version and turns on the compile cache
// before any module of the program is loaded, so that nothing a newer Node provides can fail first.
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { endQuietlyOnClosedPipe } from './closed-pipe.js';
import { EXIT } from './exit-codes.js';
import { commandOf, nodeSupport } from './node-support.js';
import { restartWithDashboardFlags } from './dashboard-memory.js';

endQuietlyOnClosedPipe();
const command = commandOf(process.argv.slice(2));
const support = nodeSupport(process.versions.node, command);
if (support.kind !== 'supported') process.stderr.write(`${support.message}\n`);
if (support.kind === 'refuse') {
  process.exitCode = EXIT.unsupportedNode;
} else {
  // The dashboard's heap is sized for its messages, not for the machine's memory.
  if (command === 'dashboard') restartWithDashboardFlags();
  // The agent is a daemon that starts once: it gains nothing from the cache.
  if (command !== 'agent') enableCompileCache();
  await import('./main.js');
}

/**
 * Node 22.1+ keeps the compiled code of the CLI's chunks between runs. The cache is the user's own
 * (`$XDG_CACHE_HOME` or ~/.cache), not Node's default in the shared tmpdir, where another user
 * could put entries first. `NODE_COMPILE_CACHE=<dir>` and `NODE_DISABLE_COMPILE_CACHE=1` take
 * precedence; a cache that cannot be written is skipped.
 */
function enableCompileCache(): void {
  // Absent on Node 20.
  if (typeof nodeModule.enableCompileCache !== 'function') return;
  let cacheHome = process.env.XDG_CACHE_HOME;
  try {
    cacheHome ||= join(homedir(), '.cache');
  } catch {
    return; // No home directory (a uid without a passwd entry): no cache.
  }
  nodeModule.enableCompileCache(join(cacheHome, 'hostwright', 'node-compile-cache'));
}
