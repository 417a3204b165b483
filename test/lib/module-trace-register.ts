import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

// Passed with `node --import` to a process under test: ES modules are recorded by the load hook as
// they load, CommonJS modules (which require() loads without hooks on Node 20) from the require cache at exit.
register('./module-trace-hooks.js', import.meta.url);
const requireCache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const traceFile = process.env.HW_MODULE_TRACE_FILE;
  if (traceFile) appendFileSync(traceFile, `${Object.keys(requireCache).join('\n')}\n`);
});
