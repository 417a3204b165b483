import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLI_PAGE, cliReferenceInPage, cliReferenceText } from '../lib/print-cli-reference.js';
import { runCli } from '../lib/cli.js';

describe('docs/cli.md', () => {
  it('holds every command\'s --help as the program prints it', () => {
    const page = readFileSync(CLI_PAGE, 'utf8');
    const inPage = cliReferenceInPage(page);
    assert.ok(inPage !== undefined, 'docs/cli.md marks the reference with <!-- cli-reference:start --> and <!-- cli-reference:end -->');
    assert.equal(inPage, cliReferenceText(), 'regenerate with: node dist/test/lib/print-cli-reference.js');
  });

  it('the reference is the commands\' own help, wrapped the same whatever the terminal', async () => {
    const reference = cliReferenceText();
    for (const command of ['plan', 'hosts cordon', 'context set', 'completion']) assert.match(reference, new RegExp(`^### hostwright ${command}\\n\\n\`\`\`text\\nUsage: hostwright ${command} `, 'm'));
    assert.doesNotMatch(reference, /__complete|__reference/, 'hidden commands stay out');
    const wide = await runCli(['__reference'], { COLUMNS: '200' });
    assert.equal(wide.stdout.trim(), reference);
  });
});
