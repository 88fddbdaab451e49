/* webserver.c — a stand-in for the nginx and httpd test images critest runs: it serves
 * WEB_ROOT on WEB_PORT through busybox httpd (its child), and looks to the tests as the real
 * server does: its log names it, its pid is in /var/run/WEB_NAME.pid, nginx's process is
 * named nginx and its command line reads "nginx: master process ...". SIGTERM, SIGINT and
 * SIGQUIT stop it at once, as they stop nginx and httpd. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *env(const char *name, const char *fallback) {
  const char *value = getenv(name);
  return value && *value ? value : fallback;
}

static volatile sig_atomic_t stop;
static void on_stop(int sig) { stop = sig; }

int main(int argc, char **argv) {
  const char *name = env("WEB_NAME", "nginx"), *port = env("WEB_PORT", "80"), *root = env("WEB_ROOT", "/www");
  static const char master[] = "nginx: master process nginx -g daemon off;";
  (void)argc;
  if (strcmp(name, "nginx") == 0 && strcmp(argv[0], master) != 0) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
      self[n] = '\0';
      char *again[] = {(char *)master, NULL};
      execv(self, again);
    }
    perror("webserver: re-exec as nginx's master process");
    return 1;
  }
  char pidfile[PATH_MAX];
  snprintf(pidfile, sizeof pidfile, "/var/run/%s.pid", name);
  FILE *f = fopen(pidfile, "w");
  if (f) {
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  struct sigaction sa = {.sa_handler = on_stop};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);
  pid_t server = fork();
  if (server == 0) {
    execl("/bin/busybox", "httpd", "-f", "-p", port, "-h", root, (char *)NULL);
    perror("webserver: busybox httpd");
    _exit(127);
  }
  printf("%s: serving %s on port %s\n", name, root, port);
  fflush(stdout);
  for (;;) {
    int status;
    pid_t done = wait(&status);
    if (stop) {
      kill(server, SIGTERM);
      return 0;
    }
    if (done == server || (done < 0 && errno == ECHILD)) return 1;
  }
}
