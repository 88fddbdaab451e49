/*
 * race — the other user's side of the check-then-use races the security tests attempt.
 * Built by the tests (cc) and run as an unprivileged user until killed (SIGTERM).
 *
 *   race exchange A B
 *       swaps the directories A and B (renameat2 RENAME_EXCHANGE) as fast as it can: a
 *       path that names A names B half the time.
 *   race bundle DIR PREFIX EVIL CONFIG
 *       waits for an entry PREFIX* to appear in DIR (a bundle someone else is writing),
 *       swaps it with the directory EVIL (ours), then for 300 ms keeps renaming fresh
 *       copies of the file CONFIG over DIR/ENTRY/config.json, so whatever the other side
 *       wrote there, ours is what a reader finds. Then waits for the next entry.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int exchange(const char *a, const char *b) {
  return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Copies the file `from` to `to` (created 0644). */
static int copy(const char *from, const char *to) {
  char buf[65536];
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ssize_t n;
  if (in < 0 || out < 0) {
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    return -1;
  }
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) break;
  close(in);
  close(out);
  return 0;
}

static int run_exchange(const char *a, const char *b) {
  for (;;) exchange(a, b);
}

static int run_bundle(const char *dir, const char *prefix, const char *evil, const char *config) {
  char evil_copy[4096], base[4096];
  snprintf(evil_copy, sizeof evil_copy, "%s", evil);
  snprintf(base, sizeof base, "%s", basename(evil_copy));
  for (;;) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char victim[4096] = "";
    if (d == NULL) continue;
    while ((e = readdir(d)) != NULL) {
      if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strcmp(e->d_name, base) != 0) {
        struct stat st;
        snprintf(victim, sizeof victim, "%s/%s", dir, e->d_name);
        /* Only someone else's: ours (the swapped-in copies) are left alone. */
        if (stat(victim, &st) == 0 && st.st_uid != getuid()) break;
        victim[0] = '\0';
      }
    }
    closedir(d);
    if (victim[0] == '\0') continue;
    if (exchange(victim, evil) != 0) continue;
    char target[4200], tmp[4200];
    snprintf(target, sizeof target, "%s/config.json", victim);
    snprintf(tmp, sizeof tmp, "%s/.config.json.race", victim);
    for (long long until = now_ms() + 300; now_ms() < until;) {
      if (copy(config, tmp) == 0) rename(tmp, target);
    }
  }
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "exchange") == 0) return run_exchange(argv[2], argv[3]);
  if (argc == 6 && strcmp(argv[1], "bundle") == 0) return run_bundle(argv[2], argv[3], argv[4], argv[5]);
  fprintf(stderr, "usage: race exchange A B | race bundle DIR PREFIX EVIL CONFIG\n");
  return 2;
}
