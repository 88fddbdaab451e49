/**
 * tscontainer for Node programs: run commands in Linux containers and manage the ones
 * kept after they stop. Every failure is a `TscontainerError`.
 */
export { run, type ContainerProcess } from './api/run.js';
export { forwardSignals, FORWARDED_SIGNALS, type ForwardedSignal } from './api/signals.js';
export {
  listContainers,
  removeContainer,
  CONTAINER_STATUSES,
  type Container,
  type ContainerStatus,
  type ListOptions,
  type RemoveOptions,
} from './api/containers.js';
export { parseMemory, type RunOptions, type RunResult, type Stdio, type Network, type VolumeMount } from './api/options.js';
export {
  TscontainerError,
  InvalidOptionError,
  RuntimeNotFoundError,
  ContainerCreateError,
  RuntimeFailedError,
  CommandNotFoundError,
  CommandNotExecutableError,
  ContainerAbortedError,
  ContainerNotFoundError,
  InternalError,
  type ErrorCode,
  type InvalidOptionCode,
} from './api/errors.js';
