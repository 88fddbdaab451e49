/* nnp.c — installed set-user-ID root in the stand-in for the nonewprivs test image: prints
 * the effective uid it runs with (root's unless no_new_privs kept the caller's). */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
