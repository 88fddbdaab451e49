/* pause.c — the pod sandbox's process (a stand-in for registry.k8s.io/pause): holds the
 * pod's namespaces, reaps the orphans it adopts as a pid namespace's init, and exits on
 * SIGTERM or SIGINT. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void leave(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  struct sigaction quit = {.sa_handler = leave}, child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGTERM, &quit, NULL);
  sigaction(SIGINT, &quit, NULL);
  sigaction(SIGCHLD, &child, NULL);
  for (;;) pause();
}
