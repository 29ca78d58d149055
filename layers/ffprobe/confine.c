/*
 * confine: runs one program (the layer's ffprobe) with less than its parent has.
 *
 *   confine [--memory-mib N] [--read PATH]... [--connect-port PORT]... -- PROGRAM [ARG]...
 *   confine --status
 *
 * In order, before it replaces itself with PROGRAM (execv: same process, same process group):
 *
 *   1. closes every inherited file descriptor above stderr;
 *   2. sets no_new_privs, so nothing PROGRAM executes can gain privileges;
 *   3. caps the total address space at N MiB (RLIMIT_AS; -max_alloc only caps one allocation),
 *      and forbids core dumps (one would hold the presigned URL);
 *   4. when the kernel has Landlock, restricts itself to: reading the --read paths (files, or
 *      directories with what is beneath them), reading and executing PROGRAM, no other file access
 *      (so not /proc/<parent>/environ either); from Landlock ABI 4 on, TCP connections only to the
 *      --connect-port ports and no listening; from ABI 6 on, no signals to and no abstract unix
 *      sockets of processes outside the sandbox. Without Landlock (no kernel support, or a seccomp
 *      filter refusing its system calls) this step is skipped: steps 1 to 3 still hold.
 *
 * --status prints what the kernel supports, as key=value lines, and exits.
 * Exit status: PROGRAM's own; 125 when confine itself fails, 126/127 when PROGRAM can't be run.
 *
 * Built static for the layer's architectures by build.sh, like ffprobe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Landlock's user-space ABI (include/uapi/linux/landlock.h), which the kernel keeps stable.
 * Spelled out here because Debian bookworm's 6.1 headers stop at ABI 2.
 */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define LANDLOCK_RULE_PATH_BENEATH 1
#define LANDLOCK_RULE_NET_PORT 2

#define FS_EXECUTE (1ULL << 0)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
/* Every file-system right of ABI 1 (execute ... make_sym), then one more per ABI: refer (2), truncate (3), ioctl_dev (5). */
#define FS_ABI1 ((1ULL << 13) - 1)
#define FS_REFER (1ULL << 13)
#define FS_TRUNCATE (1ULL << 14)
#define FS_IOCTL_DEV (1ULL << 15)
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

struct ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};

struct path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

struct net_port_attr {
  uint64_t allowed_access;
  uint64_t port;
};

#define MAX_PATHS 32
#define MAX_PORTS 8

struct options {
  unsigned long memory_mib; /* 0: no address-space limit */
  const char *read[MAX_PATHS];
  int reads;
  unsigned long ports[MAX_PORTS];
  int port_count;
  char **program; /* PROGRAM and its arguments, NULL-terminated (argv's own tail) */
};

static void die(int status, const char *what) {
  fprintf(stderr, "confine: %s\n", what);
  exit(status);
}

static void die_errno(const char *what, const char *subject) {
  fprintf(stderr, "confine: %s %s: %s\n", what, subject, strerror(errno));
  exit(125);
}

static unsigned long parse_number(const char *text, unsigned long max, const char *option) {
  char *end;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno || end == text || *end || value == 0 || value > max) {
    fprintf(stderr, "confine: %s wants a number from 1 to %lu, got '%s'\n", option, max, text);
    exit(125);
  }
  return value;
}

static void parse(int argc, char **argv, struct options *o) {
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (i + 1 >= argc) die(125, "every option takes a value; usage: confine [--memory-mib N] [--read PATH]... [--connect-port PORT]... -- PROGRAM [ARG]...");
    if (strcmp(argv[i], "--memory-mib") == 0) {
      o->memory_mib = parse_number(argv[++i], 1UL << 20, "--memory-mib");
    } else if (strcmp(argv[i], "--read") == 0) {
      if (o->reads == MAX_PATHS) die(125, "too many --read paths");
      o->read[o->reads++] = argv[++i];
    } else if (strcmp(argv[i], "--connect-port") == 0) {
      if (o->port_count == MAX_PORTS) die(125, "too many --connect-port ports");
      o->ports[o->port_count++] = parse_number(argv[++i], 65535, "--connect-port");
    } else {
      fprintf(stderr, "confine: unknown option '%s'\n", argv[i]);
      exit(125);
    }
  }
  if (i + 1 >= argc) die(125, "no program to run; usage: confine [options] -- PROGRAM [ARG]...");
  o->program = argv + i + 1;
}

/* Inherited descriptors (a runtime's sockets, files opened without O_CLOEXEC) are not the program's business. */
static void close_inherited_descriptors(void) {
  if (close_range(3, ~0U, 0) == 0) return;
  /* Kernels before 5.9 (and some emulators) lack close_range: close one by one up to the limit. */
  struct rlimit nofile;
  long last = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY ? (long)nofile.rlim_cur : 65536;
  for (long fd = 3; fd < last; fd++) close((int)fd);
}

static void set_limit(int resource, rlim_t value, const char *name) {
  struct rlimit limit = {value, value};
  if (setrlimit(resource, &limit) != 0) die_errno("cannot set", name);
}

/* The Landlock ABI this kernel enforces, or 0 (errno says why) when it has none or may not use it. */
static int landlock_abi(void) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : (int)abi;
}

/*
 * Allows `file_rights` on a path (and what is beneath it, for a directory). A path that can't be
 * opened (e.g. an absent /etc/gai.conf) is skipped: there is nothing to allow on it, and the
 * program's own attempt fails as it would anyway (execv then reports a missing program).
 */
static void allow_path(int ruleset, const char *path, uint64_t file_rights) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0) die_errno("cannot stat", path);
  /* A directory rule covers what is beneath it; directory-only rights are refused on files. */
  struct path_beneath_attr rule = {S_ISDIR(st.st_mode) ? file_rights | FS_READ_DIR : file_rights, fd};
  if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) die_errno("landlock: cannot allow", path);
  close(fd);
}

static void restrict_with_landlock(const struct options *o, int abi) {
  struct ruleset_attr attr = {FS_ABI1, 0, 0};
  size_t attr_size = sizeof(attr.handled_access_fs);
  if (abi >= 2) attr.handled_access_fs |= FS_REFER;
  if (abi >= 3) attr.handled_access_fs |= FS_TRUNCATE;
  if (abi >= 5) attr.handled_access_fs |= FS_IOCTL_DEV;
  if (abi >= 4) {
    attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
    attr_size = offsetof(struct ruleset_attr, scoped);
  }
  if (abi >= 6) {
    attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
    attr_size = sizeof(attr);
  }
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (ruleset < 0) die_errno("landlock:", "cannot create a ruleset");
  for (int i = 0; i < o->reads; i++) allow_path(ruleset, o->read[i], FS_READ_FILE);
  allow_path(ruleset, o->program[0], FS_EXECUTE | FS_READ_FILE);
  if (abi >= 4) {
    for (int i = 0; i < o->port_count; i++) {
      struct net_port_attr rule = {NET_CONNECT_TCP, o->ports[i]};
      if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_NET_PORT, &rule, 0) != 0) die_errno("landlock:", "cannot allow a port");
    }
  }
  if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) die_errno("landlock:", "cannot restrict itself");
  close(ruleset);
}

static int print_status(void) {
  int abi = landlock_abi();
  const char *why = abi == 0 ? strerror(errno) : NULL; /* before printf, which may set errno */
  printf("landlock_abi=%d\n", abi);
  if (why) printf("landlock_error=%s\n", why);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--status") == 0) return print_status();
  struct options o = {0};
  parse(argc, argv, &o);

  close_inherited_descriptors();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die_errno("cannot set", "no_new_privs");
  if (o.memory_mib) set_limit(RLIMIT_AS, (rlim_t)o.memory_mib << 20, "RLIMIT_AS");
  set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
  int abi = landlock_abi();
  if (abi > 0) restrict_with_landlock(&o, abi);

  execv(o.program[0], o.program);
  int exit_status = errno == ENOENT ? 127 : 126;
  fprintf(stderr, "confine: cannot run %s: %s\n", o.program[0], strerror(errno));
  return exit_status;
}
