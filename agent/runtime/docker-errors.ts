/** dockerode rejects with an Error carrying the HTTP status of the Docker API. */
interface DockerApiError {
  readonly statusCode: number;
  readonly json?: { readonly message?: string } | null;
  readonly message: string;
}

function isDockerApiError(error: unknown): error is DockerApiError {
  return typeof error === 'object' && error !== null && typeof (error as { statusCode?: unknown }).statusCode === 'number';
}

/** 304: the container already is in the requested state (start of a running, stop of a stopped one). */
export function isNotModified(error: unknown): boolean {
  return isDockerApiError(error) && error.statusCode === 304;
}

/** 404: no such container or image. */
export function isNotFound(error: unknown): boolean {
  return isDockerApiError(error) && error.statusCode === 404;
}

/** 409: the name is taken, or the container is in a state that forbids the operation. */
export function isConflict(error: unknown): boolean {
  return isDockerApiError(error) && error.statusCode === 409;
}

export function dockerMessage(error: unknown): string {
  if (isDockerApiError(error)) return error.json?.message ?? error.message;
  return error instanceof Error ? error.message : String(error);
}
