// The parts of an OCI runtime-spec config.json (runtime-spec v1.2) that the tests read or
// change. Bundles start from `tscontainer-runtime spec`; a test patches them through these
// types rather than writing JSON by hand. Fields the tests never touch are kept as they are.

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciProcess {
  terminal?: boolean;
  user: OciUser;
  args: string[];
  env?: string[];
  cwd: string;
  noNewPrivileges?: boolean;
  [field: string]: unknown;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface OciNamespace {
  type: OciNamespaceType;
  path?: string;
}

export interface OciResources {
  memory?: { limit?: number; reservation?: number; swap?: number };
  pids?: { limit: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string };
  [field: string]: unknown;
}

export interface OciLinux {
  namespaces?: OciNamespace[];
  resources?: OciResources;
  cgroupsPath?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  [field: string]: unknown;
}

export interface OciConfig {
  ociVersion: string;
  root?: { path: string; readonly?: boolean };
  process?: OciProcess;
  hostname?: string;
  mounts?: OciMount[];
  linux?: OciLinux;
  [field: string]: unknown;
}
