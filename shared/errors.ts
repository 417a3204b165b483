/** Base class: every Hostwright error has a stable `name` and keeps its `cause`. */
export class HostwrightError extends Error {
  override name = 'HostwrightError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Input that a user can fix (fleet file, flags, plan file). */
export class InvalidInputError extends HostwrightError {
  override name = 'InvalidInputError';
}

/** A file a compose file names (env_file, `.env`) that lies outside the project directory, symlinks followed. */
export class OutsideProjectError extends InvalidInputError {
  override name = 'OutsideProjectError';
}

/** A desired or stored document that failed schema validation. */
export class SchemaError extends HostwrightError {
  override name = 'SchemaError';
  constructor(
    message: string,
    readonly issues: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The container runtime failed or answered something unexpected. */
export class RuntimeError extends HostwrightError {
  override name = 'RuntimeError';
}

/** The container runtime did not answer at all (dockerd down or restarting, wrong socket). */
export class RuntimeUnreachableError extends RuntimeError {
  override name = 'RuntimeUnreachableError';
}

/** An image is not present locally and could not be pulled. */
export class ImageUnavailableError extends RuntimeError {
  override name = 'ImageUnavailableError';
  constructor(
    readonly image: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`image ${image} is not present locally and could not be pulled: ${reason}`, options);
  }
}

/** A container name is taken by a container Hostwright may not adopt. */
export class NameConflictError extends RuntimeError {
  override name = 'NameConflictError';
}

/** The intent journal could not be read or written; nothing is mutated without it. */
export class JournalError extends HostwrightError {
  override name = 'JournalError';
}

/** The data dir is held by another process (LevelDB allows one). */
export class DataDirLockedError extends JournalError {
  override name = 'DataDirLockedError';
}

/** The data dir others could write to (or own): its journal and owner secret cannot be trusted, so nothing opens it. */
export class UnsafeDataDirError extends HostwrightError {
  override name = 'UnsafeDataDirError';
}

/** This user may not read or write the data dir (another user's, e.g. root's): a one-line refusal, not an I/O error. */
export class DataDirPermissionError extends HostwrightError {
  override name = 'DataDirPermissionError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Why a signed document was refused: no envelope, another signer, or bytes changed after signing. */
export type SignatureProblem = 'unsigned' | 'wrong-key' | 'tampered';

/** A desired-state document that does not carry a valid signature of the pinned coordinator key. */
export class SignatureError extends HostwrightError {
  override name = 'SignatureError';
  constructor(
    readonly problem: SignatureProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A stream or bucket of the fleet is not configured as Hostwright relies on (someone changed it, or
 * an older version made it): the coordinator refuses to run on it (exit code 4).
 */
export class FleetStorageTamperedError extends HostwrightError {
  override name = 'FleetStorageTamperedError';
}

/** A stream or bucket of the fleet does not exist and these credentials may not create it. */
export class FleetNotSetUpError extends HostwrightError {
  override name = 'FleetNotSetUpError';
}

/** A retry or pull request an agent will not act on (unsigned, wrongly signed, replayed, expired, another host's); the message says why. */
export class RequestRefusedError extends HostwrightError {
  override name = 'RequestRefusedError';
}
