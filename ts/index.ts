/**
 * tscontainer for Node programs: run commands in Linux containers in the foreground
 * (`run()`), or create containers that run on their own (`create()`) and manage them
 * through a `Container` handle (`get()`, `list()`). Every failure is a `TscontainerError`.
 */
export { run, type ContainerProcess } from './api/run.js';
export { create, type CreateOptions } from './api/create.js';
export {
  get,
  type Container,
  type WaitOptions,
  type StopOptions,
  type KillOptions,
  type DeleteOptions,
} from './api/container.js';
export {
  list,
  CONTAINER_STATUSES,
  type ContainerState,
  type ContainerSummary,
  type ContainerStatus,
  type ExitRecord,
  type ListOptions,
  type RootOption,
} from './api/containers.js';
export type { ExecOptions, DetachedExecOptions } from './api/exec.js';
export {
  cpuPercent,
  memoryInUse,
  type ContainerStats,
  type CpuStats,
  type MemoryStats,
  type StatsOptions,
  type StatsReading,
} from './api/stats.js';
export type { ContainerDetails, ConfigSummary, MountSummary, ResourceLimits } from './api/inspect.js';
export { forwardSignals, relaySignals, FORWARDED_SIGNALS, type ForwardedSignal, type SignalRelay } from './api/signals.js';
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
  OperationFailedError,
  InternalError,
  ImageError,
  ImageNotKnownError,
  ImageInUseError,
  RegistryError,
  type ImageErrorCode,
  type RegistryErrorCode,
  type ErrorCode,
  type InvalidOptionCode,
} from './api/errors.js';
export {
  pull,
  images,
  inspectImage,
  removeImage,
  pruneImages,
  tagImage,
  diskUsage,
  login,
  logout,
  loadImage,
  saveImage,
  imageHost,
  defaultStorageRoot,
  type PullOptions,
  type ImagesOptions,
  type RemoveImageOptions,
  type PruneImagesOptions,
  type LoginOptions,
  type RegistryAccessOptions,
  type StorageOption,
  type LoadImageOptions,
  type SaveImageOptions,
  type ArchiveFormat,
  type LoadedImage,
  type DiskUsage,
  type ImageHostInfo,
  type ImageInspect,
  type ImageRunConfig,
  type ImageSummary,
  type ProgressEvent,
  type PrunedImages,
  type PulledImage,
  type RemovedImage,
  type UsageLine,
} from './api/images.js';
