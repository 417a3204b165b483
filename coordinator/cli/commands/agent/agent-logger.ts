import { pino, type Logger } from 'pino';

/**
 * The agent daemon's JSON logger on stdout. Every line carries each key once: pino appends a child
 * logger's bindings to its parent's, so a component's child (`component: "reconciler"` under
 * `component: "agent"`) or a line restating its host would repeat the key, which JSON readers
 * take differently (most keep the last, some refuse the line).
 */
export function agentLogger(level: string): Logger {
  return pino({ level, base: { component: 'agent' }, hooks: { streamWrite: onceEachKey } });
}

/** One JSON log line with each key once: the innermost value wins, as a child's binding is meant to. */
export function onceEachKey(line: string): string {
  try {
    const parsed: unknown = JSON.parse(line);
    return parsed !== null && typeof parsed === 'object' ? `${JSON.stringify(parsed)}\n` : line;
  } catch {
    return line;
  }
}
