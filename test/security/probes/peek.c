/*
 * peek PID — what a process inside a container can do to another one (the container's
 * init while it waits for `start`): one line per attempt, `NAME ok` or `NAME denied ERRNO`.
 * Built statically by the security tests (cc -static) and run inside the container.
 *
 *   ptrace-attach     PTRACE_ATTACH (then detached again)
 *   process_vm_readv  reading its memory (EFAULT, a bad address, means access was allowed)
 *   proc-mem          opening /proc/PID/mem
 *   pidfd_getfd       copying its descriptors 0..63 through a pidfd (any one is a leak)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, int ok, int err) {
  if (ok)
    printf("%s ok\n", name);
  else
    printf("%s denied %s\n", name, strerror(err));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: peek PID\n");
    return 2;
  }
  pid_t pid = (pid_t)atoi(argv[1]);
  char path[64];

  if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, 0, 0);
    report("ptrace-attach", 1, 0);
  } else {
    report("ptrace-attach", 0, errno);
  }

  char buf[8];
  struct iovec local = {buf, sizeof buf}, remote = {(void *)0x10000, sizeof buf};
  ssize_t n = syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL);
  report("process_vm_readv", n >= 0 || errno == EFAULT, errno);

  snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
  int mem = open(path, O_RDONLY);
  report("proc-mem", mem >= 0, errno);

  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    report("pidfd_getfd", 0, errno);
  } else {
    int got = -1, last = 0;
    for (int fd = 0; fd < 64 && got < 0; fd++) {
      got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
      if (got < 0 && errno != EBADF) last = errno;
    }
    report("pidfd_getfd", got >= 0, last ? last : EBADF);
  }
  return 0;
}
