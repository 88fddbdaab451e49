// Shell one-liners that push against a limit, shared by the runtime tests and the cgroup v2
// tier (which hands them to busybox sh inside the container).

/** Holds 200 MB in a shell variable: far past a 50M memory limit. Prints what it held. */
export const ALLOCATE_200MB = 'v=$(head -c 200m /dev/zero | tr "\\0" x); echo "allocated ${#v}"';

/** Starts 20 background processes; busybox sh stops at the first fork that fails. */
export const FORK_20 = 'i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo "started $i"; kill $(jobs -p)';

/** What busybox sh says when a fork is refused. */
export const FORK_REFUSED = /can't fork: Resource temporarily unavailable/;

export const FIFTY_MIB = 50 * 1024 * 1024;
