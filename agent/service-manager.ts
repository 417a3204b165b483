import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { errorMessage } from '../shared/errors.js';

/**
 * Tells systemd (a `Type=notify` unit) how the agent stands: `READY=1` once it reconciles,
 * `STOPPING=1` when it begins to stop. Node has no unix datagram sockets, so systemd's own
 * `systemd-notify` sends it; it waits until systemd has taken the message (sd_notify_barrier), which
 * lets systemd attribute it to the unit although the sender exits (the unit sets NotifyAccess=all).
 * Without $NOTIFY_SOCKET (not started by systemd) this does nothing.
 */
export function notifyServiceManager(state: 'ready' | 'stopping', logger: Logger, env: NodeJS.ProcessEnv = process.env): void {
  if (!env.NOTIFY_SOCKET) return;
  const args = state === 'ready' ? ['--ready', 'STATUS=reconciling'] : ['STOPPING=1', 'STATUS=stopping: finishing the cycle in flight'];
  const child = spawn('systemd-notify', args, { stdio: 'ignore', env });
  child.on('error', (error) => logger.warn({ error: errorMessage(error), state }, 'systemd-notify could not run: the service manager was not told (is systemd installed?)'));
  child.on('exit', (code) => {
    if (code !== 0) logger.warn({ code, state }, 'systemd-notify failed: the service manager was not told');
  });
}
