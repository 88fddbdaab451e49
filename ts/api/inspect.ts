/**
 * What a container was made from, in brief: the essentials of its OCI config (the
 * process, hostname, mounts, namespaces, resource limits), read from the config the
 * runtime keeps with its state.
 */
import type { ContainerState } from './containers.js';
import { integer, limit, object, parseJson, strings, text } from './json.js';

export interface MountSummary {
  destination: string;
  source: string;
  type: string;
  options: string[];
}

export interface ResourceLimits {
  /** Bytes; null when unlimited. */
  memory: { limit: number | null; swap: number | null };
  /** CFS quota and period in microseconds, relative shares; null when unset. */
  cpu: { quota: number | null; period: number | null; shares: number | null };
  pids: { limit: number | null };
}

export interface ConfigSummary {
  /** The command and its arguments. */
  args: string[];
  env: string[];
  cwd: string;
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string | null;
  readonlyRootfs: boolean;
  mounts: MountSummary[];
  /** The namespace types it has of its own: `pid`, `network`, ... */
  namespaces: string[];
  resources: ResourceLimits;
  /**
   * The config's annotations: for a container of an image, the image (`io.tscontainer.image`,
   * `io.tscontainer.image.id`), its StopSignal and ExposedPorts (OCI's
   * `org.opencontainers.image.stopSignal`, `…exposedPorts`), Volumes and Labels.
   */
  annotations: Record<string, string>;
}

export interface ContainerDetails extends ContainerState {
  config: ConfigSummary;
}

/** The essentials of an OCI config (`config.json` text). */
export function summarizeConfig(json: string): ConfigSummary {
  const config = object(parseJson(json, "the container's config is not JSON"));
  const proc = object(config['process']);
  const user = object(proc['user']);
  const linux = object(config['linux']);
  const resources = object(linux['resources']);
  const memory = object(resources['memory']);
  const cpu = object(resources['cpu']);
  const pids = object(resources['pids']);
  const mounts = Array.isArray(config['mounts']) ? config['mounts'].map(object) : [];
  const namespaces = Array.isArray(linux['namespaces']) ? linux['namespaces'].map(object) : [];
  const annotations = Object.entries(object(config['annotations'])).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return {
    args: strings(proc['args']),
    env: strings(proc['env']),
    cwd: text(proc['cwd']) ?? '/',
    terminal: proc['terminal'] === true,
    user: {
      uid: integer(user['uid']) ?? 0,
      gid: integer(user['gid']) ?? 0,
      additionalGids: Array.isArray(user['additionalGids'])
        ? user['additionalGids'].filter((g): g is number => typeof g === 'number')
        : [],
    },
    hostname: text(config['hostname']),
    readonlyRootfs: object(config['root'])['readonly'] === true,
    mounts: mounts.map((m) => ({
      destination: text(m['destination']) ?? '',
      source: text(m['source']) ?? '',
      type: text(m['type']) ?? '',
      options: strings(m['options']),
    })),
    namespaces: namespaces.flatMap((ns) => (typeof ns['type'] === 'string' ? [ns['type']] : [])),
    resources: {
      memory: { limit: limit(memory['limit']), swap: limit(memory['swap']) },
      cpu: { quota: limit(cpu['quota']), period: limit(cpu['period']), shares: limit(cpu['shares']) },
      pids: { limit: limit(pids['limit']) },
    },
    annotations: Object.fromEntries(annotations),
  };
}
