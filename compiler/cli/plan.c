/* plan.c — `edgecc plan MODEL --targets DEVICES ...`: prints the partition plan (devices, nodes,
 * predicted compute and transfers, end-to-end latency and throughput) without writing code, and
 * with --svg FILE draws it through Graphviz's `dot`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

int ec_compile_main(int argc, char **argv, bool plan_only); /* cli/compile.c: same options */
int ec_cmd_plan(int argc, char **argv);

/* Shares compile's parsing and planning so that `edgecc plan` shows exactly the plan compile
 * would follow for the same options. */
int ec_cmd_plan(int argc, char **argv) { return ec_compile_main(argc, argv, true); }

bool ec_find_dot(char *path, size_t len) {
  const char *p = getenv("PATH");
  if (!p || !*p) p = "/usr/bin:/bin";
  while (*p) {
    size_t n = strcspn(p, ":");
    /* An empty PATH entry means the current directory, as execvp takes it. */
    int w = n ? snprintf(path, len, "%.*s/dot", (int)n, p) : snprintf(path, len, "./dot");
    if (w > 0 && (size_t)w < len && access(path, X_OK) == 0) return true;
    p += n + (p[n] == ':');
  }
  return false;
}

ec_status ec_render_svg(const char *dot, const ec_buf *src, const char *out, ec_diag *d) {
  int fds[2];
  if (pipe(fds) != 0) {
    ec_diag_set(d, out, "", "cannot make a pipe to dot: %s", strerror(errno));
    return EC_ERR_INTERNAL;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  char *const args[] = {(char *)"dot", (char *)"-Tsvg", (char *)"-o", (char *)out, NULL};
  pid_t pid;
  int e = posix_spawn(&pid, dot, &fa, NULL, args, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[0]);
  if (e) {
    close(fds[1]);
    ec_diag_set(d, out, "", "cannot run %s: %s", dot, strerror(e));
    return EC_ERR_MODEL;
  }
  /* dot exiting early must fail the write, not kill edgecc. */
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  size_t off = 0;
  while (off < src->len) {
    ssize_t w = write(fds[1], src->data + off, src->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  close(fds[1]);
  signal(SIGPIPE, old);
  int ws;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (off < src->len || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
    ec_diag_set(d, out, "", "%s -Tsvg failed (%s %d)", dot, WIFEXITED(ws) ? "exit status" : "signal",
                WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
    return EC_ERR_MODEL;
  }
  return EC_OK;
}
