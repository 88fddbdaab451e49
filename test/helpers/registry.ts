// Local registries for ava tests, and what goes with them: pushing the test images, a registry
// that misbehaves, podman with a private store. The same scripts the shell tiers use
// (test/images/registry.sh serve, faulty-proxy.mjs, lib/podman.sh, isolate.sh).
//
//   let registry: Registry;
//   test.before(async () => {
//     registry = await startRegistry({ tls: true, auth: true });
//     await pushImage(registry, 'busybox:configured');        // → registry.host/tests/busybox:configured
//   });
//   test.after.always(() => registry?.stop());
//
// A registry stops with stop(), or by itself when this process ends however it ends (its
// launcher watches the pipe it holds to us); nothing of it remains either way.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { imageSource, imagesDir, isIndex, type Image } from './images.js';

const run = promisify(execFile);

export interface RegistryOptions {
  /** HTTPS with a certificate from a CA made for this registry (registry.ca). */
  tls?: boolean;
  /** htpasswd (bcrypt) Basic authentication: registry.username and registry.password. */
  auth?: boolean;
}

export interface Registry {
  /** 127.0.0.1:PORT, as image references name it. */
  host: string;
  port: number;
  /** http://HOST or https://HOST. */
  url: string;
  tls: boolean;
  /** The CA certificate (PEM file) with tls, else undefined. */
  ca: string | undefined;
  /** A directory holding only ca.crt (podman's and skopeo's --cert-dir), with tls. */
  certDir: string | undefined;
  username: string | undefined;
  password: string | undefined;
  /** A containers auth.json holding this registry's credentials ({"auths":{}} without auth). */
  authFile: string;
  /** Its directory (config, storage, certificates), removed when it stops. */
  dir: string;
  /** The registry's storage directory (docker/registry/v2/...). */
  storage: string;
  /** The registry's log (one line per request). */
  log: string;
  stop(): Promise<void>;
}

const registryScript = path.join(imagesDir, 'registry.sh');

/** Reads `KEY=VALUE` lines from `child`'s stdout until `READY`. */
function readVariables(child: ChildProcess, what: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const vars = new Map<string, string>();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line === 'READY') {
        lines.close();
        resolve(vars);
        return;
      }
      const eq = line.indexOf('=');
      if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready: ${stderr.trim()}`)));
  });
}

/** Lets this process exit without stopping `child` first (its stdin closing, or its owner
 * check, stops it then); stop() takes it back to wait for its exit. */
function detach(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref?.();
}

/** Starts a registry on a free 127.0.0.1 port (test/images/registry.sh serve). */
export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const args = ['serve'];
  if (options.tls) args.push('--tls');
  if (options.auth) args.push('--auth');
  const child = spawn('bash', [registryScript, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let vars: Map<string, string>;
  try {
    vars = await readVariables(child, 'registry.sh serve');
  } catch (e) {
    child.stdin?.end();
    throw e;
  }
  detach(child);
  const get = (key: string) => vars.get(`REGISTRY_${key}`) ?? '';
  const optional = (key: string) => get(key) || undefined;
  return {
    host: get('HOST'),
    port: Number(get('PORT')),
    url: get('URL'),
    tls: get('TLS') === '1',
    ca: optional('CA'),
    certDir: optional('CERT_DIR'),
    username: optional('USER'),
    password: optional('PASSWORD'),
    authFile: get('AUTH_JSON'),
    dir: get('DIR'),
    storage: get('STORAGE'),
    log: get('LOG'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.ref();
        child.stdin?.end();
        await exited;
      }
    },
  };
}

/** Which side of skopeo copy, or which program, the flags are for. */
export type FlagsFor = 'src' | 'dest' | 'skopeo' | 'podman' | 'ctr';

/**
 * The flags with which a tool reaches the registry: its CA (or plain HTTP) and its credentials,
 * as test/images/fixtures.sh's registry_flags gives them.
 */
export function registryFlags(registry: Registry, tool: FlagsFor): string[] {
  const creds = registry.username === undefined ? undefined : `${registry.username}:${registry.password}`;
  switch (tool) {
    case 'src':
    case 'dest':
      return [
        registry.tls ? `--${tool}-cert-dir=${registry.certDir}` : `--${tool}-tls-verify=false`,
        ...(creds ? [`--${tool}-creds=${creds}`] : []),
      ];
    case 'skopeo':
    case 'podman':
      return [registry.tls ? `--cert-dir=${registry.certDir}` : '--tls-verify=false', ...(creds ? [`--creds=${creds}`] : [])];
    case 'ctr':
      return [registry.tls ? `--tlscacert=${registry.ca}` : '--plain-http', ...(creds ? [`--user=${creds}`] : [])];
  }
}

/** skopeo through isolate.sh (nothing of it left in /var/lib or /run), as lib/podman.sh runs it. */
export async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', ['-c', `. "${imagesDir}/lib/podman.sh" && skopeo_isolated "$@"`, 'skopeo', ...args], {
    env: { ...process.env, images_dir: imagesDir },
    maxBuffer: 1 << 26,
  });
  return stdout;
}

export interface PushOptions {
  /** The reference in the registry, REPO[:TAG] (default tests/NAME:TAG of the image). */
  as?: string;
  /** Docker schema 2 (an index becomes a Docker manifest list) instead of OCI. */
  format?: 'oci' | 'v2s2';
  /** More `skopeo copy` flags (e.g. --dest-compress-format zstd). */
  extra?: string[];
}

/**
 * Pushes a test image with skopeo (every platform of an index); resolves to the reference
 * pushed (HOST/REPO:TAG) and its manifest's digest.
 */
export async function pushImage(registry: Registry, image: Image, options: PushOptions = {}): Promise<{ ref: string; digest: string }> {
  const [name, tag = 'latest'] = image.split(':');
  const ref = `${registry.host}/${options.as ?? `tests/${name}:${tag}`}`;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'tspush-'));
  try {
    const digestFile = path.join(scratch, 'digest');
    const args = ['copy', '-q', ...registryFlags(registry, 'dest'), '--digestfile', digestFile];
    if (isIndex(image)) args.push('--all');
    if (options.format === 'v2s2') args.push('--format', 'v2s2');
    args.push(...(options.extra ?? []), imageSource(image), `docker://${ref}`);
    await skopeo(...args);
    return { ref, digest: (await readFile(digestFile, 'utf8')).trim() };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface FaultyProxy {
  /** 127.0.0.1:PORT: pull HOST/tests/NAME:TAG through it (plain HTTP). */
  host: string;
  url: string;
  /** The requests so far, one `METHOD PATH -> what` line each. */
  requests(): string[];
  stop(): Promise<void>;
}

/**
 * A registry that misbehaves (test/images/faulty-proxy.mjs) in front of a plain-HTTP one.
 * Each fault is KIND[@REGEX][*N]: status=CODE, corrupt, truncate, hang, drop or slow=BPS, for
 * requests whose `METHOD PATH` matches REGEX, the first N of them; e.g.
 * startFaultyProxy(registry, 'corrupt@GET /v2/.*\/blobs/', 'status=500@/manifests/*1').
 */
export async function startFaultyProxy(registry: Registry, ...faults: string[]): Promise<FaultyProxy> {
  if (registry.tls) throw new Error('startFaultyProxy: the proxy speaks plain HTTP to a plain-HTTP registry');
  const args = [path.join(imagesDir, 'faulty-proxy.mjs'), '--upstream', registry.url, '--owner', String(process.pid)];
  for (const f of faults) args.push('--fault', f);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log: string[] = [];
  const host = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('listening on ')) resolve(line.slice('listening on '.length));
      else log.push(line);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`faulty-proxy.mjs exited (${code}): ${stderr.trim()}`)));
  });
  detach(child);
  return {
    host,
    url: `http://${host}`,
    requests: () => [...log],
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.ref();
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export interface PrivatePodman {
  /** An executable: podman with everything in `dir` (lib/podman.sh's podman_private). */
  podman: string;
  dir: string;
  /** Removes the store (every image in it). */
  remove(): Promise<void>;
}

/**
 * podman with a store, run root, config and auth file of its own, in a new directory under
 * `parent` (short: podman refuses a long run root path), through isolate.sh: for
 * interoperability checks (a tscontainer-saved image loaded by podman, a podman-pushed image
 * pulled by us) and the benchmark.
 */
export async function privatePodman(driver: 'vfs' | 'overlay' = 'vfs', parent = '/tmp'): Promise<PrivatePodman> {
  const dir = await mkdtemp(path.join(parent, 'tspodman.'));
  await run('bash', ['-c', `. "${imagesDir}/lib/podman.sh" && podman_private "$1" "$2"`, 'podman_private', dir, driver], {
    env: { ...process.env, images_dir: imagesDir },
  });
  return { podman: path.join(dir, 'podman'), dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
