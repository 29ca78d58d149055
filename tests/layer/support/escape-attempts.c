/*
 * Stands in for ffprobe in tests/layer/confine.test.ts: started exactly the way the probe function
 * starts ffprobe, it tries what code running inside a compromised ffprobe would try, and reports
 * each outcome as a tag of the one stream of an ffprobe-shaped JSON document on stdout.
 *
 * Built static, like ffprobe: under Landlock only the program confine was given may be executed,
 * and a dynamic one would need its loader and libraries too.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int first = 1;

static void tag(const char *key, const char *value) {
  printf("%s\"%s\":\"%s\"", first ? "" : ",", key, value);
  first = 0;
}

static const char *outcome(int ok) { return ok ? "allowed" : strerror(errno); }

/* Whether the file can be read, and whether it holds `needle` (AWS_SECRET_ACCESS_KEY=). */
static void try_read(const char *key, const char *path, const char *needle) {
  static char buffer[1 << 16];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tag(key, strerror(errno));
  ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  if (n < 0) return tag(key, strerror(errno));
  int found = needle && memmem(buffer, (size_t)n, needle, strlen(needle)) != NULL;
  tag(key, found ? "readable, holds the secret" : "readable");
}

int main(void) {
  char path[64];
  printf("{\"streams\":[{\"index\":0,\"codec_type\":\"audio\",\"tags\":{");

  snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
  try_read("parent_environ", path, "AWS_SECRET_ACCESS_KEY=");
  try_read("init_environ", "/proc/1/environ", "AWS_SECRET_ACCESS_KEY=");
  try_read("etc_passwd", "/etc/passwd", NULL);

  DIR *proc = opendir("/proc");
  tag("list_proc", outcome(proc != NULL));
  if (proc) closedir(proc);

  int written = open("/tmp/escape-attempt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  tag("write_tmp", outcome(written >= 0));
  if (written >= 0) {
    close(written);
    unlink("/tmp/escape-attempt");
  }

  char fds[256] = "";
  for (int fd = 3; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) != -1) snprintf(fds + strlen(fds), sizeof(fds) - strlen(fds), "%s%d", *fds ? " " : "", fd);
  }
  tag("inherited_fds", *fds ? fds : "none");

  tag("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? "set" : "not set");
  struct rlimit as;
  char limit[32] = "unlimited";
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) snprintf(limit, sizeof(limit), "%lu MiB", (unsigned long)(as.rlim_cur >> 20));
  tag("address_space", limit);
  tag("own_process_group", getpgrp() == getpid() ? "yes" : "no");

  tag("signal_parent", outcome(kill(getppid(), 0) == 0));

  /* Lambda's runtime API listens on 127.0.0.1:9001; here nothing does, so "refused" means the connection was allowed. */
  int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in runtime_api = {.sin_family = AF_INET, .sin_port = htons(9001), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  tag("connect_port_9001", outcome(connect(sock, (struct sockaddr *)&runtime_api, sizeof(runtime_api)) == 0));
  close(sock);

  pid_t child = fork();
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", "exit 0", (char *)NULL);
    _exit(errno == EACCES ? 13 : 127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  tag("exec_shell", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "allowed" : WEXITSTATUS(status) == 13 ? "Permission denied" : "failed");

  printf("}}],\"format\":{\"format_name\":\"escape-attempts\"}}\n");
  return 0;
}
