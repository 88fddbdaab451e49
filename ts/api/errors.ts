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

/**
 * What kind of failure the native side reported, in the workspace's one vocabulary of codes
 * (`tscontainer_core::error::Code`): the addon's errors, the runtime's `error` log entries and
 * `tscontainer-runtime storage`'s errors carry it as their `code`. The addon's `errorCodes()`
 * lists the same set, which a unit test compares with this one.
 */
export type CoreCode =
  // Containers.
  | 'not-found'
  | 'already-exists'
  | 'invalid-status'
  | 'invalid-config'
  | 'invalid-rootfs'
  | 'invalid-option'
  | 'exec-failed'
  | 'not-executable'
  | 'command-not-found'
  | 'oom-killed'
  | 'cgroup'
  | 'permission-denied'
  | 'unsafe-state'
  | 'unsupported'
  | 'network'
  | 'hook'
  | 'internal'
  // Images: the store, registries, layers.
  | 'invalid-reference'
  | 'invalid-platform'
  | 'invalid-digest'
  | 'image-not-known'
  | 'ambiguous-image-id'
  | 'in-use'
  | 'manifest-unknown'
  | 'blob-unknown'
  | 'unauthorized'
  | 'registry-unreachable'
  | 'tls'
  | 'registry-error'
  | 'digest-mismatch'
  | 'unsupported-media-type'
  | 'no-matching-platform'
  | 'too-large'
  | 'blocked-registry'
  | 'ambiguous-short-name'
  | 'credential-helper'
  | 'not-logged-in'
  | 'no-space'
  | 'io'
  | 'invalid-content'
  | 'invalid-archive'
  | 'invalid-argument'
  | 'unsafe-storage'
  | 'hostile-layer'
  | 'corrupt-layer'
  | 'unpack'
  | 'not-regular-file'
  | 'container-exists'
  | 'container-not-known'
  | 'invalid-container-id'
  | 'canceled'
  // The native hosts' own.
  | 'runtime-not-found'
  | 'wrong-host'
  | 'user-namespace';

export interface TscontainerErrorOptions {
  code: ErrorCode | ImageErrorCode;
  exitCode?: number | undefined;
  signal?: NodeJS.Signals | undefined;
  cause?: unknown;
  reported?: boolean | undefined;
  coreCode?: CoreCode | undefined;
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
  /**
   * The native core's code for the failure, when the core reported it (the runtime or the
   * addon): finer than the class, e.g. `invalid-status` or `cgroup` for an
   * OperationFailedError.
   */
  readonly coreCode: CoreCode | undefined;

  constructor(message: string, options: TscontainerErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.reported = options.reported ?? false;
    this.coreCode = options.coreCode;
  }
}

export interface SubclassOptions {
  cause?: unknown;
  reported?: boolean | undefined;
  coreCode?: CoreCode | undefined;
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

/** Makes the API error of a failure from its message. */
export type Failure = (message: string, options: SubclassOptions) => TscontainerError;

const invalid =
  (code: InvalidOptionCode): Failure =>
  (message, options) =>
    new InvalidOptionError(message, code, options);

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
  | 'ERR_TSC_CREDENTIAL_HELPER'
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
  | 'ERR_TSC_CREDENTIAL_HELPER'
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
  'ERR_TSC_CREDENTIAL_HELPER',
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
export function imageError(code: ImageErrorCode, message: string, options: SubclassOptions = {}): ImageError {
  if (code === 'ERR_TSC_IMAGE_NOT_KNOWN') return new ImageNotKnownError(message, options);
  if (code === 'ERR_TSC_IN_USE') return new ImageInUseError(message, options);
  if (REGISTRY_CODES.has(code)) return new RegistryError(message, code as RegistryErrorCode, options);
  return new ImageError(message, code, options);
}

/** The API code of an image failure the core reported as `code` (`image-not-known` → `ERR_TSC_IMAGE_NOT_KNOWN`). */
function imageCode(code: CoreCode): ImageErrorCode {
  return `ERR_TSC_${code.toUpperCase().replaceAll('-', '_')}` as ImageErrorCode;
}

const image =
  (code: CoreCode): Failure =>
  (message, options) =>
    imageError(imageCode(code), message, options);

/**
 * The one table from the core's codes to the API's classes. `undefined`: the code names no
 * class of its own, and the failure is the caller's (ContainerCreateError for a create,
 * OperationFailedError for an operation on a container, InternalError for a read).
 */
const CLASSES: { readonly [C in CoreCode]: Failure | undefined } = {
  'not-found': (message, options) => new ContainerNotFoundError(message, options),
  'already-exists': (message, options) => new ContainerCreateError(message, options),
  'invalid-option': invalid('ERR_TSC_INVALID_OPTION'),
  'invalid-config': invalid('ERR_TSC_INVALID_SPEC'),
  'invalid-rootfs': invalid('ERR_TSC_INVALID_ROOTFS'),
  'command-not-found': (message, options) => new CommandNotFoundError(message, options),
  'not-executable': (message, options) => new CommandNotExecutableError(message, options),
  'runtime-not-found': (message, options) => new RuntimeNotFoundError(message, options),
  'invalid-reference': image('invalid-reference'),
  'invalid-platform': image('invalid-platform'),
  'invalid-digest': image('invalid-digest'),
  canceled: image('canceled'),
  'invalid-status': undefined,
  'exec-failed': undefined,
  'oom-killed': undefined,
  cgroup: undefined,
  'permission-denied': undefined,
  'unsafe-state': undefined,
  unsupported: undefined,
  network: undefined,
  hook: undefined,
  internal: undefined,
  // Images: ImageNotKnownError, ImageInUseError, RegistryError, else ImageError (imageError).
  'image-not-known': image('image-not-known'),
  'ambiguous-image-id': image('ambiguous-image-id'),
  'in-use': image('in-use'),
  'manifest-unknown': image('manifest-unknown'),
  'blob-unknown': image('blob-unknown'),
  unauthorized: image('unauthorized'),
  'registry-unreachable': image('registry-unreachable'),
  tls: image('tls'),
  'registry-error': image('registry-error'),
  'digest-mismatch': image('digest-mismatch'),
  'unsupported-media-type': image('unsupported-media-type'),
  'no-matching-platform': image('no-matching-platform'),
  'too-large': image('too-large'),
  'blocked-registry': image('blocked-registry'),
  'ambiguous-short-name': image('ambiguous-short-name'),
  'credential-helper': image('credential-helper'),
  'not-logged-in': image('not-logged-in'),
  'no-space': image('no-space'),
  io: image('io'),
  'invalid-content': image('invalid-content'),
  'invalid-archive': image('invalid-archive'),
  'invalid-argument': image('invalid-argument'),
  'unsafe-storage': image('unsafe-storage'),
  'hostile-layer': image('hostile-layer'),
  'corrupt-layer': image('corrupt-layer'),
  unpack: image('unpack'),
  'not-regular-file': image('not-regular-file'),
  'container-exists': image('container-exists'),
  'container-not-known': image('container-not-known'),
  'invalid-container-id': image('invalid-container-id'),
  'wrong-host': image('wrong-host'),
  'user-namespace': image('user-namespace'),
};

/** Every code the table maps (a unit test compares them with the addon's `errorCodes()`). */
export const CORE_CODES = Object.keys(CLASSES) as readonly CoreCode[];

function isCoreCode(code: unknown): code is CoreCode {
  return typeof code === 'string' && Object.hasOwn(CLASSES, code);
}

/**
 * The API error for a failure the core reported with `code` (an addon error's `code`, a
 * runtime log entry's `code`): the class the table names, else `otherwise`, the caller's.
 */
export function errorFor(
  code: unknown,
  message: string,
  otherwise: Failure,
  options: SubclassOptions = {},
): TscontainerError {
  if (!isCoreCode(code)) return otherwise(message, options);
  return (CLASSES[code] ?? otherwise)(message, { ...options, coreCode: code });
}

/** napi's own errors for an argument of the wrong JavaScript type: bad options too. */
const NAPI_ARGUMENT_ERRORS: ReadonlySet<unknown> = new Set([
  'InvalidArg',
  'NumberExpected',
  'StringExpected',
  'BooleanExpected',
  'ArrayExpected',
  'ObjectExpected',
]);

function hasCode(error: unknown): error is Error & { code: unknown } {
  return error instanceof Error && 'code' in error;
}

export const internalFailure: Failure = (message, options) => new InternalError(message, options);

/**
 * The API error for an error thrown by the native addon, through the table; `otherwise`
 * makes the error for a code with no class of its own (default InternalError).
 */
export function fromNative(error: unknown, otherwise: Failure = internalFailure): TscontainerError {
  if (error instanceof TscontainerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = hasCode(error) ? error.code : undefined;
  if (NAPI_ARGUMENT_ERRORS.has(code)) return new InvalidOptionError(message, 'ERR_TSC_INVALID_OPTION', { cause: error });
  return errorFor(code, message, otherwise, { cause: error });
}
