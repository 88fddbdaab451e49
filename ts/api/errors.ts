/**
 * Every failure of the API is a `TscontainerError`. Subclasses tell what went wrong;
 * `exitCode` is the status a Docker-compatible CLI exits with for it, and `cause`
 * keeps the error underneath (a native error, a spawn error, an abort reason).
 */

export type ErrorCode =
  | 'ERR_TSC_INVALID_OPTION'
  | 'ERR_TSC_INVALID_SPEC'
  | 'ERR_TSC_INVALID_ROOTFS'
  | 'ERR_TSC_NOT_FOUND'
  | 'ERR_TSC_RUNTIME_NOT_FOUND'
  | 'ERR_TSC_RUNTIME_FAILED'
  | 'ERR_TSC_CREATE'
  | 'ERR_TSC_COMMAND_NOT_FOUND'
  | 'ERR_TSC_COMMAND_NOT_EXECUTABLE'
  | 'ERR_TSC_OPERATION_FAILED'
  | 'ERR_TSC_INTERNAL'
  | 'ABORT_ERR';

export interface TscontainerErrorOptions {
  code: ErrorCode | ImageErrorCode;
  exitCode?: number | undefined;
  signal?: NodeJS.Signals | undefined;
  cause?: unknown;
  reported?: boolean | undefined;
}

export class TscontainerError extends Error {
  override name = 'TscontainerError';
  readonly code: ErrorCode | ImageErrorCode;
  /** The exit status a Docker-compatible CLI uses for this failure. */
  readonly exitCode: number | undefined;
  /** The signal that ended the runtime or the container, when one did. */
  readonly signal: NodeJS.Signals | undefined;
  /**
   * True when the runtime has already printed this message on the container's
   * stderr, so a CLI must not print it again.
   */
  readonly reported: boolean;

  constructor(message: string, options: TscontainerErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.reported = options.reported ?? false;
  }
}

interface SubclassOptions {
  cause?: unknown;
  reported?: boolean;
}

export type InvalidOptionCode = 'ERR_TSC_INVALID_OPTION' | 'ERR_TSC_INVALID_ROOTFS' | 'ERR_TSC_INVALID_SPEC';

/** Bad input: an option, the rootfs or a config that cannot be used. Nothing was created. */
export class InvalidOptionError extends TscontainerError {
  override name = 'InvalidOptionError';
  constructor(message: string, code: InvalidOptionCode = 'ERR_TSC_INVALID_OPTION', options: SubclassOptions = {}) {
    super(message, { ...options, code, exitCode: 125 });
  }
}

/** The native addon or the `tscontainer-runtime` executable is not installed where expected. */
export class RuntimeNotFoundError extends TscontainerError {
  override name = 'RuntimeNotFoundError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'ERR_TSC_RUNTIME_NOT_FOUND', exitCode: 125 });
  }
}

/** The runtime could not create or start the container. */
export class ContainerCreateError extends TscontainerError {
  override name = 'ContainerCreateError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'ERR_TSC_CREATE', exitCode: 125 });
  }
}

/** The runtime ended without reporting the container's fate: it crashed or was killed. */
export class RuntimeFailedError extends TscontainerError {
  override name = 'RuntimeFailedError';
  constructor(message: string, options: SubclassOptions & { signal?: NodeJS.Signals | undefined } = {}) {
    super(message, { ...options, code: 'ERR_TSC_RUNTIME_FAILED', exitCode: 125 });
  }
}

/** The container's command does not exist (Docker exits 127). */
export class CommandNotFoundError extends TscontainerError {
  override name = 'CommandNotFoundError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'ERR_TSC_COMMAND_NOT_FOUND', exitCode: 127 });
  }
}

/** The container's command exists but cannot be executed (Docker exits 126). */
export class CommandNotExecutableError extends TscontainerError {
  override name = 'CommandNotExecutableError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'ERR_TSC_COMMAND_NOT_EXECUTABLE', exitCode: 126 });
  }
}

/**
 * The caller's AbortSignal ended the operation: for `run()` and `exec()` by stopping the
 * process, for a wait by no longer waiting. `cause` is the signal's reason.
 */
export class ContainerAbortedError extends TscontainerError {
  override name = 'ContainerAbortedError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'ABORT_ERR' });
  }
}

/** No container has that id. */
export class ContainerNotFoundError extends TscontainerError {
  override name = 'ContainerNotFoundError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'ERR_TSC_NOT_FOUND' });
  }
}

/**
 * The runtime refused or failed an operation on an existing container (start, kill,
 * pause, resume, delete, exec): the container's status does not allow it, or the kernel
 * said no. The message is the runtime's.
 */
export class OperationFailedError extends TscontainerError {
  override name = 'OperationFailedError';
  constructor(
    message: string,
    options: SubclassOptions & { exitCode?: number | undefined; signal?: NodeJS.Signals | undefined } = {},
  ) {
    super(message, { ...options, code: 'ERR_TSC_OPERATION_FAILED' });
  }
}

/** The native core failed in a way no input explains (for example, unreadable state). */
export class InternalError extends TscontainerError {
  override name = 'InternalError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'ERR_TSC_INTERNAL' });
  }
}

function hasCode(error: unknown): error is Error & { code: unknown } {
  return error instanceof Error && 'code' in error;
}

/**
 * The API error for an error thrown by the native addon. The addon's `code`s map one to
 * one onto classes; napi's own argument-conversion errors (`InvalidArg`, a value of the
 * wrong JavaScript type) are bad options too.
 */
export function fromNative(error: unknown): TscontainerError {
  if (error instanceof TscontainerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = hasCode(error) ? error.code : undefined;
  switch (code) {
    case 'ERR_TSC_INVALID_OPTION':
    case 'ERR_TSC_INVALID_ROOTFS':
    case 'ERR_TSC_INVALID_SPEC':
      return new InvalidOptionError(message, code, { cause: error });
    case 'InvalidArg':
    case 'NumberExpected':
    case 'StringExpected':
    case 'BooleanExpected':
    case 'ArrayExpected':
    case 'ObjectExpected':
      return new InvalidOptionError(message, 'ERR_TSC_INVALID_OPTION', { cause: error });
    case 'ERR_TSC_NOT_FOUND':
      return new ContainerNotFoundError(message, { cause: error });
    case 'ERR_TSC_RUNTIME_NOT_FOUND':
      return new RuntimeNotFoundError(message, { cause: error });
    case 'ERR_TSC_CREATE':
      return new ContainerCreateError(message, { cause: error });
    default:
      if (typeof code === 'string' && code.startsWith('ERR_TSC_') && code !== 'ERR_TSC_INTERNAL') {
        return imageError(code as ImageErrorCode, message, error);
      }
      return new InternalError(message, { cause: error });
  }
}

/**
 * The stable codes of image operations: `ERR_TSC_` and the image library's kind in upper
 * case (crates/node/src/errors.rs lists when each is raised). A kind added later keeps that
 * form, so programs may also compare against codes not listed here.
 */
export type ImageErrorCode =
  | 'ERR_TSC_IMAGE_NOT_KNOWN'
  | 'ERR_TSC_AMBIGUOUS_IMAGE_ID'
  | 'ERR_TSC_IN_USE'
  | 'ERR_TSC_INVALID_REFERENCE'
  | 'ERR_TSC_INVALID_PLATFORM'
  | 'ERR_TSC_INVALID_DIGEST'
  | 'ERR_TSC_INVALID_ARGUMENT'
  | 'ERR_TSC_INVALID_ARCHIVE'
  | 'ERR_TSC_MANIFEST_UNKNOWN'
  | 'ERR_TSC_BLOB_UNKNOWN'
  | 'ERR_TSC_UNAUTHORIZED'
  | 'ERR_TSC_NOT_LOGGED_IN'
  | 'ERR_TSC_CREDENTIAL_HELPER_UNSUPPORTED'
  | 'ERR_TSC_REGISTRY_UNREACHABLE'
  | 'ERR_TSC_TLS'
  | 'ERR_TSC_REGISTRY_ERROR'
  | 'ERR_TSC_BLOCKED_REGISTRY'
  | 'ERR_TSC_AMBIGUOUS_SHORT_NAME'
  | 'ERR_TSC_DIGEST_MISMATCH'
  | 'ERR_TSC_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_TSC_NO_MATCHING_PLATFORM'
  | 'ERR_TSC_TOO_LARGE'
  | 'ERR_TSC_HOSTILE_LAYER'
  | 'ERR_TSC_CORRUPT_LAYER'
  | 'ERR_TSC_UNPACK'
  | 'ERR_TSC_NO_SPACE'
  | 'ERR_TSC_PERMISSION_DENIED'
  | 'ERR_TSC_IO'
  | 'ERR_TSC_NOT_REGULAR_FILE'
  | 'ERR_TSC_UNSAFE_STORAGE'
  | 'ERR_TSC_INVALID_CONFIG'
  | 'ERR_TSC_INVALID_CONTENT'
  | 'ERR_TSC_CONTAINER_EXISTS'
  | 'ERR_TSC_CONTAINER_NOT_KNOWN'
  | 'ERR_TSC_INVALID_CONTAINER_ID'
  | 'ERR_TSC_CANCELED'
  | 'ERR_TSC_WRONG_HOST'
  | 'ERR_TSC_USER_NAMESPACE';

/** An image operation failed (pull, load, save, rmi, ...); `code` says which way. Exit 125. */
export class ImageError extends TscontainerError {
  override name = 'ImageError';
  declare readonly code: ImageErrorCode;
  constructor(message: string, code: ImageErrorCode, options: SubclassOptions & { exitCode?: number } = {}) {
    super(message, { ...options, code, exitCode: options.exitCode ?? 125 });
  }
}

/** No image in the store has that name, id or id prefix (podman's "image not known"). */
export class ImageNotKnownError extends ImageError {
  override name = 'ImageNotKnownError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, 'ERR_TSC_IMAGE_NOT_KNOWN', options);
  }
}

/**
 * The image cannot be removed without `force`: a container uses it, or it has several
 * names and was named by id. Exit 2, podman's status for an image in use.
 */
export class ImageInUseError extends ImageError {
  override name = 'ImageInUseError';
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, 'ERR_TSC_IN_USE', { ...options, exitCode: 2 });
  }
}

/** The kinds of failure that come from reaching a registry. */
export type RegistryErrorCode = Extract<
  ImageErrorCode,
  | 'ERR_TSC_UNAUTHORIZED'
  | 'ERR_TSC_NOT_LOGGED_IN'
  | 'ERR_TSC_CREDENTIAL_HELPER_UNSUPPORTED'
  | 'ERR_TSC_REGISTRY_UNREACHABLE'
  | 'ERR_TSC_TLS'
  | 'ERR_TSC_REGISTRY_ERROR'
  | 'ERR_TSC_BLOCKED_REGISTRY'
  | 'ERR_TSC_AMBIGUOUS_SHORT_NAME'
  | 'ERR_TSC_MANIFEST_UNKNOWN'
  | 'ERR_TSC_BLOB_UNKNOWN'
  | 'ERR_TSC_DIGEST_MISMATCH'
>;

const REGISTRY_CODES: ReadonlySet<string> = new Set<RegistryErrorCode>([
  'ERR_TSC_UNAUTHORIZED',
  'ERR_TSC_NOT_LOGGED_IN',
  'ERR_TSC_CREDENTIAL_HELPER_UNSUPPORTED',
  'ERR_TSC_REGISTRY_UNREACHABLE',
  'ERR_TSC_TLS',
  'ERR_TSC_REGISTRY_ERROR',
  'ERR_TSC_BLOCKED_REGISTRY',
  'ERR_TSC_AMBIGUOUS_SHORT_NAME',
  'ERR_TSC_MANIFEST_UNKNOWN',
  'ERR_TSC_BLOB_UNKNOWN',
  'ERR_TSC_DIGEST_MISMATCH',
]);

/**
 * A registry could not be used: unreachable, untrusted (TLS), refusing the credentials,
 * without that image or tag, or serving content that does not match its digest.
 */
export class RegistryError extends ImageError {
  override name = 'RegistryError';
  declare readonly code: RegistryErrorCode;
  constructor(message: string, code: RegistryErrorCode, options: SubclassOptions = {}) {
    super(message, code, options);
  }
}

/** The error class for an image operation's `code` (the addon's, or the runtime's JSON line's). */
export function imageError(code: ImageErrorCode, message: string, cause?: unknown): ImageError {
  const options = cause === undefined ? {} : { cause };
  if (code === 'ERR_TSC_IMAGE_NOT_KNOWN') return new ImageNotKnownError(message, options);
  if (code === 'ERR_TSC_IN_USE') return new ImageInUseError(message, options);
  if (REGISTRY_CODES.has(code)) return new RegistryError(message, code as RegistryErrorCode, options);
  return new ImageError(message, code, options);
}
