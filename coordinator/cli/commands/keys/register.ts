import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';

// Registration only: the nkeys library is imported when a key is made.
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('the coordinator\'s desired-state signing key');
  keys
    .command('generate')
    .description('create a signing key pair: coordinator-signing.nk (seed, mode 0600; pass it to --signing-key) and coordinator-signing.pub (pass it to agents\' --coordinator-key)')
    .requiredOption('--out <dir>', 'the directory to write both files into (created if missing; existing files are never overwritten)')
    .action(async (options: { out: string }) => {
      await mkdir(options.out, { recursive: true, mode: 0o700 });
      const { generateSigningKey } = await import('../../../signing-key.js');
      const written = await generateSigningKey(options.out);
      process.stdout.write(`wrote ${written.seedFile} (keep it secret) and ${written.publicFile}\npublic key: ${written.publicKey}\n`);
    });
}
