// The reference runtimes the compatibility tests compare with: runc (it runs the same bundle
// beside tscontainer-runtime, with a state root of its own) and crun (its `spec` output is a
// starting point people use; crun 1.8 itself refuses this machine's hybrid cgroup layout).
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { execute, type Exit } from './exec.js';

/** The first executable named `name` on PATH (and in the sbin directories), or undefined. */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const runcPath = findProgram('runc');
export const crunPath = findProgram('crun');

export const runcInstalled: [boolean, string] = [runcPath !== undefined, 'runc, the reference, is not installed (apt-get install runc)'];
export const crunInstalled: [boolean, string] = [crunPath !== undefined, 'crun is not installed (apt-get install crun)'];

/** Runs runc with its own state root (`--root`). */
export function runc(stateRoot: string, scratch: string, ...args: string[]): Promise<Exit> {
  if (!runcPath) throw new Error('runc is not installed');
  return execute(runcPath, ['--root', stateRoot, ...args], { scratch });
}

/**
 * The lines of /proc/self/status that say what a process may do, as `{ CapEff: '…', … }`:
 * the five capability sets, NoNewPrivs and the seccomp mode.
 */
export function privileges(statusText: string): Record<string, string> {
  const fields = /^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):\s*(\S+)$/;
  return Object.fromEntries(
    statusText
      .split('\n')
      .map((line) => fields.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}
