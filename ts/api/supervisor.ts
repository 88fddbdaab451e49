/**
 * The runtime process that stays with a container until its process ends and records how
 * it ended: the supervisor of a detached container (`create --supervise`), or the runtime
 * of a foreground `run`. Found from any process through /proc, by its arguments
 * (`--root ROOT ... create --supervise ... ID` or `--root ROOT ... run ... ID`), so that a
 * waiter can tell "not recorded yet" from "never will be", and a delete can wait until the
 * supervisor has finished.
 */
import { readdirSync, readFileSync } from 'node:fs';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process: a zombie has finished everything but being reaped. */
export function isAlive(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Whether `argv` is a runtime command line that supervises container `id` in `root`. */
export function supervises(argv: readonly string[], id: string, root: string): boolean {
  if (argv.at(-1) !== id) return false;
  const rootAt = argv.indexOf('--root');
  if (rootAt === -1 || argv[rootAt + 1] !== root) return false;
  const verbs = argv.slice(rootAt + 2, -1);
  return (verbs.includes('create') && verbs.includes('--supervise')) || verbs.includes('run');
}

/** The live runtime process supervising container `id` in `root`, if there is one. */
export function findSupervisor(id: string, root: string): number | undefined {
  const found = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = read(`/proc/${pid}/cmdline`);
    if (cmdline === undefined || !cmdline.includes(id)) continue;
    const argv = cmdline.split('\0');
    if (argv.at(-1) === '') argv.pop();
    if (supervises(argv, id, root) && isAlive(pid)) found.set(pid, parentOf(pid));
  }
  // Until `start`, the container's init is a fork of the supervisor with the same command
  // line: the supervisor is the one whose parent is not another match.
  for (const [pid, parent] of found) if (!found.has(parent)) return pid;
  return undefined;
}

function parentOf(pid: number): number {
  const stat = read(`/proc/${pid}/stat`) ?? '';
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `pid` has ended, up to `ms`; true when it did. */
export async function untilGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}
