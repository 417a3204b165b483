// Bundles the compiled `hostwright` CLI (dist/coordinator/cli/hostwright.js, from tsc) into
// dist/cli/: the entry and one chunk per lazily imported command, instead of some 600 module
// files. A command then starts without resolving and compiling each file of its dependencies:
// `hostwright --help` and an unchanged `apply --local` start in about two thirds of the time
// (bench/RESULTS.md, "CLI start-up"). Run by `npm run build`, after tsc.
//
// Left outside the bundle, loaded from node_modules at run time:
// - classic-level: a native addon, found by path next to its package;
// - dockerode: agent/runtime/dockerode-loader.ts loads it through its own `require` to defer the
//   modules of it that Hostwright never uses, which a bundle would load eagerly.
import { build } from 'esbuild';
import { chmod, copyFile, rm, writeFile } from 'node:fs/promises';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// Chunk names carry a content hash: chunks of an earlier build would pile up.
await rm(`${root}/dist/cli`, { recursive: true, force: true });

const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: { hostwright: 'dist/coordinator/cli/hostwright.js' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // Older than Hostwright supports: the entry must still load on Node 20 to say which Node it needs.
  target: 'node20',
  // Maps back through tsc's source maps to the TypeScript sources (with --enable-source-maps).
  sourcemap: true,
  external: ['classic-level', 'dockerode'],
  // Bundled CommonJS packages require Node's built-ins; ESM output has no `require` of its own.
  banner: { js: "import { createRequire as __hostwrightCreateRequire } from 'node:module'; const require = __hostwrightCreateRequire(import.meta.url);" },
  // Which sources went into which chunk: test/lib/module-trace.ts reads it to tell which packages a
  // command loaded.
  metafile: true,
  logLevel: 'warning',
});
await writeFile(`${root}/dist/cli/metafile.json`, JSON.stringify(metafile));
await chmod(`${root}/dist/cli/hostwright.js`, 0o755);

// The dashboard's page (coordinator/dashboard/page/, browser code type-checked by its own
// tsconfig): one minified script beside its HTML and CSS in dist/dashboard/, which the dashboard
// server finds by walking up from its module. Bundled from the TypeScript sources (tsc leaves the
// page out of dist/); no CDN, nothing fetched at run time.
await rm(`${root}/dist/dashboard`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { app: 'coordinator/dashboard/page/app.ts' },
  outdir: 'dist/dashboard',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // lit-html's licence stays in the one file served.
  legalComments: 'eof',
  logLevel: 'warning',
});
await Promise.all(['index.html', 'app.css'].map((name) => copyFile(`${root}/coordinator/dashboard/page/${name}`, `${root}/dist/dashboard/${name}`)));
