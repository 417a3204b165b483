// A bounded worker pool: many independent jobs, at most a fixed number in flight at once.

/**
 * Runs `worker` over `items` with at most `limit` calls in flight, taking items in order; resolves
 * with the results in the items' order. When a call throws, no further item is taken, the calls in
 * flight are waited for, and the first error is thrown: nothing keeps running after it returns.
 */
export async function runBounded<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure) {
      const index = next;
      next += 1;
      try {
        results[index] = await worker(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.error;
  return results;
}
