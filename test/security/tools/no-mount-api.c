/*
 * no-mount-api PROGRAM [ARG...] — runs PROGRAM where open_tree, move_mount, mount_setattr,
 * fsopen, fsconfig and fsmount fail with ENOSYS, as on a kernel before 5.12 (or under a
 * seccomp profile that does not know them): the tests of test/security run the runtime's
 * fallback through it. A seccomp filter, inherited across execve and by every child; as
 * root, no no_new_privs is needed to install it. Built on first use by test/helpers/race.ts.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: no-mount-api PROGRAM [ARG...]\n");
    return 2;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      DENY(__NR_open_tree),
      DENY(__NR_move_mount),
      DENY(__NR_mount_setattr),
      DENY(__NR_fsopen),
      DENY(__NR_fsconfig),
      DENY(__NR_fsmount),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    perror("no-mount-api: seccomp");
    return 1;
  }
  execv(argv[1], argv + 1);
  perror("no-mount-api: execv");
  return 127;
}
