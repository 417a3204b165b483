import { execFile } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every entry in dir (dir itself as '.'), by relative path, as `dir 0700`, `file 0600`, `socket 0600`. */
export async function modesIn(dir: string): Promise<Record<string, string>> {
  const modes: Record<string, string> = {};
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path);
    const kind = info.isDirectory() ? 'dir' : info.isSocket() ? 'socket' : info.isSymbolicLink() ? 'symlink' : 'file';
    modes[relative(dir, path) || '.'] = `${kind} 0${(info.mode & 0o7777).toString(8).padStart(3, '0')}`;
    if (info.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(dir);
  return modes;
}

/** The modes a private data dir has: the same entries, dirs 0700, files and sockets 0600. */
export function privateModes(modes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(modes).map(([path, mode]) => [path, mode.startsWith('dir ') ? 'dir 0700' : `${mode.split(' ')[0]} 0600`]));
}

export interface AsNobodyResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command as the unprivileged user nobody (the tests run as root), with setpriv or runuser, whichever exists. */
export async function runAsNobody(command: readonly string[]): Promise<AsNobodyResult> {
  const [tool] = (await run(['sh', '-c', 'command -v setpriv || command -v runuser'])).stdout.trim().split('\n');
  if (!tool) throw new Error('neither setpriv nor runuser is installed: no way to run a command as another user');
  const prefix = tool.endsWith('setpriv') ? [tool, '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [tool, '-u', 'nobody', '--'];
  return run([...prefix, ...command]);
}

/** A node client, run as nobody, that connects to a unix socket: prints `connected` or the error code. */
export function connectAsNobody(socketPath: string): Promise<AsNobodyResult> {
  const client = "const s = require('node:net').connect(process.argv[1]); s.on('connect', () => { console.log('connected'); s.end(); }); s.on('error', (e) => { console.log(e.code); process.exitCode = 3; });";
  return runAsNobody([process.execPath, '-e', client, socketPath]);
}

function run(command: readonly string[]): Promise<AsNobodyResult> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    if (!file) return reject(new Error('no command'));
    // cwd /: nobody may not enter the test's working dir.
    execFile(file, args, { cwd: '/' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
