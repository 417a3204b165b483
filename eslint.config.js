import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // The layering, shared <- agent/core <- agent <- coordinator: no import runs up it.
    files: ['agent/**/*.ts'],
    ignores: ['agent/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/coordinator/**'], message: 'agent/ must not import coordinator/ (the layering: shared <- agent <- coordinator).' }] }] },
  },
  {
    // The coordinator is a library (coordinator/operations/) that the CLI only renders: nothing outside coordinator/cli/ imports it.
    files: ['coordinator/**/*.ts'],
    ignores: ['coordinator/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/cli/**', 'cli/**'], message: 'coordinator/ outside cli/ must not import coordinator/cli/ (the CLI parses options and renders; the use cases live in coordinator/).' }] }] },
  },
  {
    files: ['shared/nats-connection.ts', 'shared/stream-replicas.ts', 'shared/read-bounded.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/agent/**', '**/coordinator/**'], message: 'shared/ imports neither agent/ nor coordinator/ (the wire schemas live in shared/).' }] }] },
  },
  {
    // The pure core and the shared schemas do no I/O; the NATS connection and its storage setup are the shared edge.
    // nkeys is pure ed25519 (no I/O): the desired-state signature lives in shared.
    files: ['agent/core/**/*.ts', 'shared/**/*.ts'],
    ignores: ['shared/nats-connection.ts', 'shared/stream-replicas.ts', 'shared/read-bounded.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['dockerode', 'level', 'classic-level', '@nats-io/*', '!@nats-io/nkeys', 'node:fs', 'node:fs/promises'], message: 'The pure core and the shared schemas do no I/O.' },
            { group: ['**/agent/**', '**/coordinator/**', '../runtime/**', '../store/**', '../fleet/**', '../*.js'], message: 'No import runs up the layering (shared <- agent/core <- agent <- coordinator).' },
          ],
        },
      ],
    },
  },
  {
    // The dashboard page's pure parts: DOM-free (the main tsconfig has no DOM lib) and free of I/O, so node:test covers them.
    files: ['coordinator/dashboard/view/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', '@nats-io/*', 'dockerode', 'level', 'lit-html', 'lit-html/*', 'zod'], message: 'coordinator/dashboard/view/ is pure: values in, values out.' }] }] },
  },
  {
    // The page renders everything from hosts as text: lit-html escapes every interpolation; nothing parses markup.
    files: ['coordinator/dashboard/page/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['lit-html/directives/unsafe-*', 'node:*', 'zod'], message: 'The page renders host data as text only, and runs in the browser.' }] }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
        { selector: "MemberExpression[property.name=/^(innerHTML|outerHTML|insertAdjacentHTML)$/]", message: 'Render with lit-html, which escapes: never parse host data as markup.' },
      ],
    },
  },
);
