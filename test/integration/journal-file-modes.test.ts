import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { chmod, chown, lchown, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { controlSocketPath, startControlServer } from '../../agent/control-server.js';
import { Reconciler } from '../../agent/reconciler.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { Journal } from '../../agent/store/journal.js';
import { openJournalWhenWritable } from '../../agent/store/open-journal.js';
import { fetchAgentEvents, fetchAgentStatus } from '../../coordinator/cli/local-agent-client.js';
import { usePrivateUmask } from '../../coordinator/cli/private-umask.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { UnsafeDataDirError } from '../../shared/errors.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { CLI, runCli } from '../lib/cli.js';
import { connectAsNobody, modesIn, privateModes, runAsNobody } from '../lib/file-modes.js';

const silent = pino({ level: 'silent' });

function event(message: string): HostwrightEvent {
  return { id: randomUUID(), type: 'applied', severity: 'info', hostId: 'h1', project: 'p', message, timestamp: new Date().toISOString(), correlationID: randomUUID() };
}

/** A temp dir others may enter (mkdtemp makes it 0700), so that only the data dir's own mode keeps them out. */
async function openParent(mode = 0o755): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'hw-modes-'));
  await chmod(root, mode);
  return root;
}

async function withUmask<T>(umask: number, body: () => Promise<T>): Promise<T> {
  const previous = process.umask(umask);
  try {
    return await body();
  } finally {
    process.umask(previous);
  }
}

/** The journal files (as root) that hold the given bytes. */
async function filesHolding(dir: string, text: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(dir)) if ((await readFile(join(dir, name))).includes(text)) found.push(join(dir, name));
  return found;
}

// The data dir holds desired documents with secret env values and answers status and events on its
// socket: whatever the umask, nothing in it is for another user (real LevelDB, real files, a real user nobody).
describe('data dir, journal files and control socket modes (real LevelDB)', () => {
  it('under umask 000: user nobody cannot read the journal or connect to the socket; dir 0700, every file 0600, socket 0600; this user reads through the socket', async () => {
    const root = await openParent();
    const dataDir = join(root, 'data');
    const secret = `s3cr3t-${randomUUID()}`;
    const hostId = uniqueName('modes-host');
    try {
      await withUmask(0o000, async () => {
        const journal = await Journal.open(dataDir);
        const reconciler = new Reconciler({ runtime: new DockerRuntime(), journal, hostId, logger: silent });
        const server = await startControlServer(dataDir, reconciler, journal, silent);
        try {
          await journal.putDesired(desired(uniqueName('modes'), { app: service({ env: { DB_PASSWORD: { secret } } }) }));
          const written = event('applied app with DB_PASSWORD');
          await journal.appendEvents([written]);

          // Controls: nobody can read a readable file and connect to an open socket here, so the failures below are the modes'.
          const readable = join(root, 'readable');
          await writeFile(readable, 'open\n', { mode: 0o644 });
          assert.equal((await runAsNobody(['cat', readable])).stdout, 'open\n');
          const openSocket = join(root, 'open.sock');
          const open = createServer((socket) => socket.end());
          await new Promise<void>((resolve) => open.listen(openSocket, resolve));
          try {
            assert.equal((await connectAsNobody(openSocket)).stdout.trim(), 'connected');
          } finally {
            await new Promise<void>((resolve) => open.close(() => resolve()));
          }

          const [log] = await filesHolding(join(dataDir, 'journal'), secret);
          assert.ok(log, 'a journal file holds the secret value');
          const read = await runAsNobody(['cat', log]);
          assert.notEqual(read.code, 0, `nobody read ${log} (${read.stdout.length} characters${read.stdout.includes(secret) ? ', the secret value among them' : ''})`);
          assert.match(read.stderr, /Permission denied/);
          assert.equal((await connectAsNobody(controlSocketPath(dataDir))).stdout.trim(), 'EACCES', 'nobody cannot connect to the control socket');

          const modes = await modesIn(dataDir);
          assert.equal(modes['agent.sock'], 'socket 0600', 'the control socket is there');
          assert.deepEqual(modes, privateModes(modes), 'dirs 0700, files and the socket 0600');

          // The same user still reads status and events through the socket.
          assert.equal((await fetchAgentStatus(dataDir)).hostId, hostId);
          const events: HostwrightEvent[] = [];
          await fetchAgentEvents(dataDir, { follow: false, onEvent: (e) => events.push(e) });
          assert.deepEqual(events.map((e) => e.id), [written.id]);
        } finally {
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await journal.close();
        }
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('under umask 000 and the umask the journal-opening commands set, files LevelDB creates after open (a flushed table, a new log) are 0600', async () => {
    const root = await openParent();
    const dataDir = join(root, 'data');
    try {
      await withUmask(0o000, async () => {
        usePrivateUmask();
        const journal = await Journal.open(dataDir);
        try {
          const atOpen = new Set(await readdir(join(dataDir, 'journal')));
          // Past LevelDB's 4 MB write buffer: the memtable is flushed to a table and a new log started.
          const filler = 'x'.repeat(64 * 1024);
          for (let i = 0; i < 80; i += 1) await journal.appendEvents([event(filler)]);
          await waitForNewFile(join(dataDir, 'journal'), atOpen, /\.ldb$/);
          const modes = await modesIn(dataDir);
          assert.deepEqual(modes, privateModes(modes));
        } finally {
          await journal.close();
        }
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('an existing data dir of this user that others can read is tightened: the dir to 0700, its files (journal, owner secret) to 0600', async () => {
    const root = await openParent();
    const dataDir = join(root, 'data');
    try {
      await (await Journal.open(dataDir)).close();
      // As an older Hostwright left it under umask 022.
      const before = await modesIn(dataDir);
      for (const [path, mode] of Object.entries(before)) await chmod(join(dataDir, path), mode.startsWith('dir ') ? 0o755 : 0o644);
      assert.equal((await modesIn(dataDir))['owner-secret'], 'file 0644');
      const journal = await Journal.open(dataDir);
      try {
        const after = await modesIn(dataDir);
        assert.deepEqual(after, privateModes(after));
        assert.equal(after['.'], 'dir 0700');
        assert.equal(after['owner-secret'], 'file 0600');
      } finally {
        await journal.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  for (const mode of [0o770, 0o775, 0o757, 0o777, 0o1777]) {
    it(`a data dir with mode 0${mode.toString(8)} (writable by others) is refused, saying to run chmod 700, and is left untouched`, async () => {
      const root = await openParent();
      const dataDir = join(root, 'data');
      try {
        await mkdir(dataDir);
        await chmod(dataDir, mode);
        const refused = (error: unknown) => error instanceof UnsafeDataDirError && error.message.includes(`chmod 700 ${dataDir}`) && /writable by/.test(error.message);
        await assert.rejects(Journal.open(dataDir), refused);
        // The agent's open does not wait for it as for a full disk: it refuses to start.
        await assert.rejects(openJournalWhenWritable(dataDir, silent, AbortSignal.timeout(3_000)), refused);
        assert.deepEqual(await readdir(dataDir), []);
        assert.equal((await modesIn(dataDir))['.'], `dir 0${mode.toString(8)}`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }

  it('a data dir owned by another non-root user is refused', async () => {
    const root = await openParent();
    const dataDir = join(root, 'data');
    try {
      await mkdir(dataDir, { mode: 0o700 });
      await chown(dataDir, 65534, 65534);
      await assert.rejects(Journal.open(dataDir), (error: unknown) => error instanceof UnsafeDataDirError && /belongs to uid 65534, not to this user/.test(error.message));
      assert.deepEqual(await readdir(dataDir), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('under a sticky world-writable parent (as /tmp) a dir of this user opens; a parent others can write to without the sticky bit, or that another user owns, is refused and nothing is made', async () => {
    for (const [parentMode, owner, refusedBecause] of [
      [0o1777, 0, undefined],
      [0o755, 0, undefined],
      [0o777, 0, /which is writable by group and others \(mode 0777, no sticky bit\): they can replace it/],
      [0o775, 0, /writable by its group \(mode 0775/],
      [0o755, 65534, /hw-modes-\w+ belongs to uid 65534, who can point it elsewhere/],
    ] as const) {
      const root = await openParent(parentMode);
      const dataDir = join(root, 'data');
      try {
        await chown(root, owner, owner);
        if (refusedBecause === undefined) {
          await (await Journal.open(dataDir)).close();
          assert.equal((await modesIn(dataDir))['owner-secret'], 'file 0600', `parent 0${parentMode.toString(8)}`);
        } else {
          await assert.rejects(Journal.open(dataDir), (error: unknown) => error instanceof UnsafeDataDirError && refusedBecause.test(error.message), `parent 0${parentMode.toString(8)} of uid ${owner}`);
          assert.deepEqual(await readdir(root), [], 'no data dir made');
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }
  });

  it('an ancestor two levels up that others can write to is refused too, for an existing data dir of this user', async () => {
    const root = await openParent(0o757);
    const dataDir = join(root, 'a', 'data');
    try {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await assert.rejects(Journal.open(dataDir), (error: unknown) => error instanceof UnsafeDataDirError && error.message.includes(`${join(root, 'a')} is in ${root}, which is writable by others (mode 0757`));
      assert.deepEqual(await readdir(dataDir), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  // The review's finding: in a sticky world-writable dir another user's symlink led root's
  // `status --local` to make a root-owned tree 0700/0600 and write its journal into it.
  it('a data dir that is another user\'s symlink in a sticky world-writable dir is refused, by Journal.open and by `status --local`, and the tree it points to is left untouched', async () => {
    const root = await openParent(0o1777);
    const target = join(root, 'root-owned');
    const link = join(root, 'hwdata');
    try {
      await mkdir(join(target, 'sub'), { recursive: true, mode: 0o755 });
      await chmod(target, 0o755);
      await writeFile(join(target, 'sub', 'config'), 'keep\n', { mode: 0o644 });
      const before = await modesIn(target);
      await symlink(target, link);
      await lchown(link, 65534, 65534);
      const refused = (error: unknown) => error instanceof UnsafeDataDirError && error.message.includes(`the symlink ${link} belongs to uid 65534, who can point it elsewhere`);
      await assert.rejects(Journal.open(link), refused);
      await assert.rejects(openJournalWhenWritable(link, silent, AbortSignal.timeout(3_000)), refused);
      const cli = await runCli(['status', '--local', '--data-dir', link]);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /^error: data dir \S+ is refused: the symlink \S+ belongs to uid 65534, who can point it elsewhere; nothing was changed under it\. Use a path that only root \(or you\) can change/);
      assert.equal(cli.stderr.trim().split('\n').length, 1, 'one line');
      assert.deepEqual(await modesIn(target), before, 'modes unchanged, no journal, no owner secret');
      // Through a dir the other user owns (the link's target is root's): refused the same way.
      const theirs = join(root, 'theirs');
      await mkdir(theirs, { mode: 0o755 });
      await symlink(target, join(theirs, 'data'));
      await chown(theirs, 65534, 65534);
      await assert.rejects(Journal.open(join(theirs, 'data')), (error: unknown) => error instanceof UnsafeDataDirError && /belongs to uid 65534/.test(error.message));
      assert.deepEqual(await modesIn(target), before);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a symlink root owns in a sticky dir is followed (the check is about who can change the path, not about symlinks)', async () => {
    const root = await openParent(0o1777);
    const target = join(root, 'real');
    const link = join(root, 'link');
    try {
      await mkdir(target, { mode: 0o700 });
      await symlink(target, link);
      await (await Journal.open(link)).close();
      assert.equal((await modesIn(target))['owner-secret'], 'file 0600');
      // A symlink on the way whose target climbs out with `..` is resolved as the kernel does.
      await mkdir(join(root, 'open'));
      await chmod(join(root, 'open'), 0o777);
      await symlink('../open/x', join(target, 'up'));
      await assert.rejects(Journal.open(join(target, 'up')), (error: unknown) => error instanceof UnsafeDataDirError && error.message.includes(`${join(root, 'open', 'x')} is in ${join(root, 'open')}, which is writable by group and others`));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('user nobody running `status --local` on root\'s data dir gets one line saying permission denied and what to do, not an EACCES from mkdir', async () => {
    const root = await openParent(0o755);
    const dataDir = join(root, 'root-data');
    try {
      await (await Journal.open(dataDir)).close();
      for (const dir of [dataDir, join(dataDir, 'not-yet')]) {
        const result = await runAsNobody([process.execPath, CLI, 'status', '--local', '--data-dir', dir]);
        assert.equal(result.code, 1, result.stderr);
        const lines = result.stderr.replace(/^hostwright: warning: Node[^\n]*\n/, '').trim().split('\n');
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0] ?? '', new RegExp(`^error: permission denied: this user \\(uid 65534\\) cannot use the data dir ${dir}; .*run the command as that user \\(sudo\\), or pass --data-dir with a dir of your own$`));
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

async function waitForNewFile(dir: string, before: ReadonlySet<string>, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const added = (await readdir(dir)).filter((name) => !before.has(name) && pattern.test(name));
    if (added.length > 0) return;
    if (Date.now() > deadline) throw new Error(`LevelDB made no new ${pattern} file in ${dir}: ${[...before].join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
