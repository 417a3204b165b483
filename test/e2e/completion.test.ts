import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCli } from '../lib/cli.js';

/** Whether a shell is installed (CI installs zsh and fish: .ci/run). */
function has(shell: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
}

function run(command: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// The scripts `hostwright completion bash|zsh|fish` print, loaded into the real shells and asked
// what they complete, as a user's TAB would; context names come from the `hostwright` on PATH.
describe('shell completion', () => {
  let dir: string;
  let env: Record<string, string>;
  const scripts: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-completion-'));
    await mkdir(join(dir, 'bin'));
    const wrapper = join(dir, 'bin', 'hostwright');
    await writeFile(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(wrapper, 0o755);
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'contexts:\n  prod-eu:\n    nats: { servers: nats://127.0.0.1:4222 }\n  staging:\n    nats: { servers: nats://127.0.0.1:4223 }\n');
    await writeFile(join(dir, 'fleet.yaml'), 'project: x\nservices: {}\n');
    env = { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, HOSTWRIGHT_CONFIG: config, HOSTWRIGHT_CONTEXT: '' };
    for (const shell of ['bash', 'zsh', 'fish']) {
      const printed = await runCli(['completion', shell], env);
      assert.equal(printed.code, 0, printed.stderr);
      scripts[shell] = join(dir, `hostwright.${shell}`);
      await writeFile(scripts[shell], printed.stdout);
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** What bash's programmable completion offers for `line` (the cursor at its end), through the function the script registers. */
  const bash = async (line: string): Promise<string[]> => {
    const words = line.split(' ');
    const quoted = words.map((word) => `'${word}'`).join(' ');
    const program = `source '${scripts.bash}'; fn=$(complete -p hostwright | sed -E 's/.*-F ([^ ]+).*/\\1/'); COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'; COMP_POINT=\${#COMP_LINE}; "$fn" hostwright '${words.at(-1)}' '${words.at(-2)}'; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = await run('bash', ['--norc', '--noprofile', '-c', program], env);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.split('\n').filter((word) => word !== '');
  };

  it('bash: commands, subcommands, the options of the command typed, context names and files', async () => {
    assert.deepEqual(await bash('hostwright ho'), ['hosts']);
    const hostsOptions = await bash('hostwright hosts --');
    for (const option of ['--json', '--nats', '--creds', '--context', '--help']) assert.ok(hostsOptions.includes(option), `${option} in ${hostsOptions.join(' ')}`);
    assert.ok(!hostsOptions.includes('--local') && !hostsOptions.includes('--signing-key'), 'hosts takes neither --local nor --signing-key');
    assert.deepEqual(await bash('hostwright hosts c'), ['cordon']);
    assert.deepEqual(await bash('hostwright hosts cordon --rea'), ['--reason']);
    // An option's value is skipped on the way to the subcommand, and completed from what it is.
    assert.deepEqual(await bash('hostwright rollout --nats nats://127.0.0.1:4222 st'), ['status']);
    assert.deepEqual(await bash('hostwright hosts --context '), ['prod-eu', 'staging']);
    assert.deepEqual(await bash('hostwright hosts --context st'), ['staging']);
    assert.deepEqual(await bash(`hostwright apply -f ${dir}/fle`), [`${dir}/fleet.yaml`]);
    assert.deepEqual(await bash('hostwright completion --he'), ['--help']);
    assert.deepEqual(await bash('hostwright nosuch'), []);
  });

  it('zsh: the same answers through the completion function (compadd and _files observed)', { skip: has('zsh') ? false : 'zsh is not installed (apt-get install zsh)' }, async () => {
    const zsh = async (line: string): Promise<string[]> => {
      const words = line.split(' ');
      // Outside a completion widget compadd and _files cannot run: stand-ins print what they are given that matches the word, as compadd would.
      const program = `compdef() { print -r -- "compdef $*" >&2 }; compadd() { local c; [[ $1 == -a ]] && for c in \${(P)2}; do [[ $c == \${words[CURRENT]}* ]] && print -r -- $c; done; return 0 }; _files() { print -r -- FILES }; source '${scripts.zsh}'; words=(${words.map((word) => `'${word}'`).join(' ')}); CURRENT=${words.length}; _hostwright`;
      const result = await run('zsh', ['-f', '-c', program], env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /compdef _hostwright hostwright/);
      return result.stdout.split('\n').filter((word) => word !== '');
    };
    assert.deepEqual(await zsh('hostwright ho'), ['hosts']);
    const hostsOptions = await zsh('hostwright hosts --');
    assert.ok(hostsOptions.includes('--json') && hostsOptions.includes('--context') && !hostsOptions.includes('--local'), hostsOptions.join(' '));
    assert.deepEqual(await zsh('hostwright rollout --nats nats://127.0.0.1:4222 st'), ['status']);
    assert.deepEqual(await zsh('hostwright hosts --context '), ['prod-eu', 'staging']);
    assert.deepEqual(await zsh('hostwright apply -f '), ['FILES']);
    // With the real compinit, the script registers its function for hostwright.
    const registered = await run('zsh', ['-f', '-c', `autoload -Uz compinit && compinit -u -d '${dir}/zcompdump' && source '${scripts.zsh}' && print -r -- $_comps[hostwright]`], env);
    assert.equal(registered.stdout.trim(), '_hostwright', registered.stderr);
  });

  it('fish: complete -C answers with commands, options and their descriptions', { skip: has('fish') ? false : 'fish is not installed (apt-get install fish)' }, async () => {
    const fish = async (line: string): Promise<string[]> => {
      const result = await run('fish', ['--no-config', '-c', `source '${scripts.fish}'; complete -C '${line}'`], env);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.split('\n').filter((word) => word !== '');
    };
    const hosts = await fish('hostwright ho');
    assert.deepEqual(hosts.map((entry) => entry.split('\t')[0]), ['hosts']);
    assert.match(hosts[0] ?? '', /\tregistered hosts/);
    const hostsOptions = (await fish('hostwright hosts --')).map((entry) => entry.split('\t')[0]);
    for (const option of ['--json', '--nats', '--context', '--help']) assert.ok(hostsOptions.includes(option), `${option} in ${hostsOptions.join(' ')}`);
    assert.ok(!hostsOptions.includes('--local'));
    assert.deepEqual((await fish('hostwright hosts c')).map((entry) => entry.split('\t')[0]), ['cordon']);
    assert.deepEqual((await fish('hostwright rollout --nats nats://127.0.0.1:4222 st')).map((entry) => entry.split('\t')[0]), ['status']);
    assert.deepEqual((await fish('hostwright hosts --context ')).map((entry) => entry.split('\t')[0]), ['prod-eu', 'staging']);
  });

  it('an unknown shell is refused with the ones there are', async () => {
    const refused = await runCli(['completion', 'tcsh'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /completion tcsh: expected one of bash, zsh, fish/);
  });
});
