import assert from 'node:assert/strict';
import { parseComposeFiles, type ComposeReadOptions, type ComposeText, type ComposeWorkload } from '../../coordinator/compose/compose-file.js';
import { composeSchemaCheck } from '../../coordinator/compose/compose-schema.js';
import { InvalidInputError } from '../../shared/errors.js';

const schemaCheck = composeSchemaCheck();

/** Compose text (or files) read as the CLI reads them, in /srv/shop with no environment and no env files. */
export function readCompose(files: readonly ComposeText[] | string, options: Partial<ComposeReadOptions> = {}): ComposeWorkload {
  const list = typeof files === 'string' ? [{ name: 'compose.yaml', text: files }] : files;
  return parseComposeFiles(list, { directory: '/srv/shop', environment: {}, readEnvFile: () => { throw new Error('no such file'); }, schemaCheck, ...options });
}

/** The message a refused compose text gets; fails when it is accepted or fails otherwise. */
export function composeError(files: readonly ComposeText[] | string, options: Partial<ComposeReadOptions> = {}): string {
  try {
    readCompose(files, options);
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, `an InvalidInputError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the compose file to be refused');
}
