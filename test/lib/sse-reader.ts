/**
 * A small server-sent events reader for tests: opens a stream with fetch, parses `event:`/`data:`
 * blocks as they arrive, keeps every message, and lets a test wait for one that matches.
 */
export interface SseMessage {
  readonly event: string;
  readonly data: unknown;
  /** When the message arrived (ms since the epoch). */
  readonly at: number;
}

export class SseReader {
  readonly messages: SseMessage[] = [];
  readonly #abort = new AbortController();
  #waiters: (() => void)[] = [];
  #closed = false;
  #error: unknown;

  private constructor() {}

  /** Opens the stream; rejects unless the server answers 200 with text/event-stream. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: reader.#abort.signal });
    if (response.status !== 200 || !response.headers.get('content-type')?.startsWith('text/event-stream') || !response.body) {
      throw new Error(`${url} answered ${response.status} ${response.headers.get('content-type')}: ${await response.text()}`);
    }
    void reader.#read(response.body);
    return reader;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const lines = block.split('\n');
          const event = lines.find((line) => line.startsWith('event: '))?.slice(7) ?? 'message';
          const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
          if (data !== '') this.messages.push({ event, data: JSON.parse(data) as unknown, at: Date.now() });
        }
        this.#wake();
      }
    } catch (error) {
      if (!this.#abort.signal.aborted) this.#error = error;
    } finally {
      this.#closed = true;
      this.#wake();
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** The first message from `from` on (an index into `messages`) that `match` accepts; fails after timeoutMs. */
  async waitFor<T>(what: string, match: (message: SseMessage) => T | undefined, timeoutMs: number, from = 0): Promise<{ value: T; message: SseMessage; index: number }> {
    const deadline = Date.now() + timeoutMs;
    let index = from;
    for (;;) {
      for (; index < this.messages.length; index += 1) {
        const message = this.messages[index] as SseMessage;
        const value = match(message);
        if (value !== undefined) return { value, message, index };
      }
      if (this.#closed) throw new Error(`stream closed before ${what}${this.#error ? `: ${String(this.#error)}` : ''}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms (${this.messages.length} messages: ${[...new Set(this.messages.map((m) => m.event))].join(', ')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#abort.abort();
  }
}
