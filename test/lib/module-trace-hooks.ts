import { appendFileSync } from 'node:fs';

type NextLoad = (url: string, context: unknown) => Promise<unknown>;

/** Module hook (runs on Node's hooks thread): records every ES module and CommonJS entry that is loaded. */
export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<unknown> {
  const traceFile = process.env.HW_MODULE_TRACE_FILE;
  if (traceFile) appendFileSync(traceFile, `${url}\n`);
  return nextLoad(url, context);
}
