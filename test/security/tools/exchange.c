/*
 * exchange A B — swaps the names A and B (renameat2 RENAME_EXCHANGE) in a tight loop until
 * it is killed. It is the attacker of the race tests in test/security: a user who owns the
 * directory of a rootfs or of a mount point flips a directory and a symlink while the runtime
 * works on them, so that a check and a use see different objects. Built on first use by
 * test/helpers/race.ts.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: exchange A B\n");
    return 2;
  }
  /* Tell the test the loop runs: it starts its attempts only then. */
  if (write(STDOUT_FILENO, "ready\n", 6) != 6) return 1;
  for (;;) {
    if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
      perror("exchange: renameat2");
      return 1;
    }
  }
}
