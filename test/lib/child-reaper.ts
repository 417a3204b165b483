import type { ChildProcess } from 'node:child_process';

/** Children still alive; SIGKILLed synchronously if the test process exits, so none outlives a run. */
const running = new Set<ChildProcess>();
let hookInstalled = false;

/** Registers a child to be killed if the test process exits before it does. */
export function killOnExit(child: ChildProcess): void {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const alive of running) {
        try {
          alive.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
}
