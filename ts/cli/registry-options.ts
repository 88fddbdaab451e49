/**
 * How the image commands' registry and store flags become the API's options. Kept apart
 * from the flag definitions (images.ts, which loads oclif) so that the fast start of `pull`
 * uses the same code without loading oclif.
 */
import { InvalidOptionError } from '../api/errors.js';

/**
 * oclif's boolean flags take no `=value`; podman writes `--tls-verify=false`. Rewritten to
 * `--no-tls-verify` / `--tls-verify` before oclif parses (up to a `--`).
 */
export function normalizeTlsVerify(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((arg, i) => {
    if (end !== -1 && i > end) return arg;
    const match = /^--tls-verify=(.*)$/.exec(arg);
    if (match === null) return arg;
    const value = (match[1] ?? '').toLowerCase();
    if (value === 'false' || value === '0') return '--no-tls-verify';
    if (value === 'true' || value === '1') return '--tls-verify';
    throw new InvalidOptionError(`invalid --tls-verify value ${JSON.stringify(match[1])}: true or false`);
  });
}

/** The registry access options of the API from the flags. */
export function registryAccess(flags: { 'tls-verify'?: boolean | undefined; 'cert-dir'?: string | undefined; authfile?: string | undefined }): {
  tlsVerify?: boolean;
  certDir?: string;
  authFile?: string;
} {
  return {
    ...(flags['tls-verify'] === undefined ? {} : { tlsVerify: flags['tls-verify'] }),
    ...(flags['cert-dir'] === undefined ? {} : { certDir: flags['cert-dir'] }),
    ...(flags.authfile === undefined ? {} : { authFile: flags.authfile }),
  };
}

/** `{ storageRoot }` from the flags. */
export function storage(flags: { 'storage-root'?: string | undefined }): { storageRoot?: string } {
  return flags['storage-root'] === undefined ? {} : { storageRoot: flags['storage-root'] };
}
