/** A request to the dashboard's API that failed: the server's `{error}` message, or what went wrong on the way. */
export class DashboardApiError extends Error {
  override readonly name = 'DashboardApiError';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** GET `path` (same origin, the cookie sent) and its JSON. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return request<T>(path, { signal: signal ?? null, headers: { accept: 'application/json' } });
}

/** POST `{}` as JSON (the server refuses any other content type) and the JSON answer. */
export async function postJson<T>(path: string, body: unknown = {}): Promise<T> {
  return request<T>(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
}

async function request<T>(path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, credentials: 'same-origin' });
  } catch (error) {
    throw new DashboardApiError(`${path}: the dashboard did not answer`, 0, { cause: error });
  }
  const text = await response.text();
  let value: unknown;
  try {
    value = text === '' ? {} : JSON.parse(text);
  } catch (error) {
    throw new DashboardApiError(`${path}: answered ${response.status} with no JSON`, response.status, { cause: error });
  }
  if (!response.ok) {
    const message = typeof value === 'object' && value !== null && 'error' in value ? String(value.error) : `HTTP ${response.status}`;
    throw new DashboardApiError(message, response.status);
  }
  return value as T;
}

/** A query string of the set parameters (empty values left out). */
export function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
