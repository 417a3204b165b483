/**
 * Profiling aid: wraps chosen methods of an object (on the instance, shadowing the prototype) so
 * that each call's wall time is added to a named bucket. Used by `noop --breakdown` only, never
 * by the headline figures.
 */
export class CallTimer {
  readonly #buckets = new Map<string, { calls: number; ms: number }>();

  wrap<T extends object>(target: T, prefix: string, methods: readonly (keyof T & string)[]): void {
    const object = target as Record<string, unknown>;
    for (const method of methods) {
      const original = object[method];
      if (typeof original !== 'function') throw new TypeError(`${prefix}.${method} is not a method`);
      const bucket = `${prefix}.${method}`;
      object[method] = (...args: unknown[]): unknown => {
        const startedAt = performance.now();
        const result: unknown = Reflect.apply(original, target, args);
        if (result instanceof Promise) return result.finally(() => this.#add(bucket, performance.now() - startedAt));
        this.#add(bucket, performance.now() - startedAt);
        return result;
      };
    }
  }

  #add(bucket: string, ms: number): void {
    const entry = this.#buckets.get(bucket);
    if (entry) {
      entry.calls += 1;
      entry.ms += ms;
    } else {
      this.#buckets.set(bucket, { calls: 1, ms });
    }
  }

  /** Totals since the last take, and a fresh start. */
  take(): Map<string, { calls: number; ms: number }> {
    const taken = new Map([...this.#buckets].map(([name, entry]) => [name, { ...entry }]));
    this.#buckets.clear();
    return taken;
  }
}
