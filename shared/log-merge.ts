/**
 * Merges sources that are each in time order into one stream in time order (a k-way merge), the
 * way `docker compose logs` interleaves containers. An entry is released only once every source
 * that still counts has one waiting or has finished, so a later source cannot bring an earlier
 * line after it. A source that stops counting (a host not answering) no longer holds the others.
 */
export class TimeMerge<K, T> {
  readonly #sources = new Map<K, { queue: T[]; head: number; finished: boolean; counted: boolean }>();

  constructor(private readonly compare: (a: T, b: T) => number) {}

  add(key: K): void {
    if (!this.#sources.has(key)) this.#sources.set(key, { queue: [], head: 0, finished: false, counted: true });
  }

  push(key: K, entries: readonly T[]): void {
    const source = this.#source(key);
    for (const entry of entries) source.queue.push(entry);
  }

  /** No more entries will come from the source (its history is complete). */
  finish(key: K): void {
    this.#source(key).finished = true;
  }

  /** A source that does not count is not waited for; its entries still merge in when they come. */
  setCounted(key: K, counted: boolean): void {
    this.#source(key).counted = counted;
  }

  /** Entries waiting in a source, not yet released. */
  waiting(key: K): number {
    const source = this.#source(key);
    return source.queue.length - source.head;
  }

  /** Whether every source finished and every entry was released. */
  done(): boolean {
    for (const source of this.#sources.values()) if (!source.finished || source.queue.length > source.head) return false;
    return true;
  }

  /** The entries that can be released now, in order. */
  take(): T[] {
    const released: T[] = [];
    for (;;) {
      let best: { queue: T[]; head: number } | undefined;
      for (const source of this.#sources.values()) {
        if (source.queue.length === source.head) {
          if (source.counted && !source.finished) return this.#compact(released);
          continue;
        }
        if (!best || this.compare(source.queue[source.head] as T, best.queue[best.head] as T) < 0) best = source;
      }
      if (!best) return this.#compact(released);
      released.push(best.queue[best.head] as T);
      best.head += 1;
    }
  }

  #compact(released: T[]): T[] {
    for (const source of this.#sources.values()) {
      if (source.head > 1024 && source.head * 2 > source.queue.length) {
        source.queue.splice(0, source.head);
        source.head = 0;
      }
    }
    return released;
  }

  #source(key: K): { queue: T[]; head: number; finished: boolean; counted: boolean } {
    const source = this.#sources.get(key);
    if (!source) throw new RangeError(`no merge source ${String(key)}`);
    return source;
  }
}
