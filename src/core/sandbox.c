/*
 * The system-call allowlist of kura serve (D2, docs/security.md "System calls"): installed
 * with libseccomp once every thread has started, on all of them at once (TSYNC). A call
 * outside the list kills the whole process (SIGSYS). The list is systemd's @system-service
 * set (what contrib/kura.service allows too) plus adjtimex (read-only clock state), less what
 * a file-exchange server never needs after start-up: running programs (execve, execveat),
 * new processes (fork, vfork, clone without CLONE_THREAD; clone3 answers ENOSYS so that glibc
 * falls back to clone, whose flags a filter can see), signals to other processes (kill),
 * identity and capability changes (set*uid, set*gid, setgroups, capset), ownership changes
 * (the chown family but fchown, which SQLite uses as root for its journal), namespaces (setns), sessions (setsid, setpgid), limits (setrlimit),
 * personality, the kernel keyring, userfaultfd, io_uring (its operations would pass
 * outside the filter), and reading or writing other processes' memory (process_vm_*, kcmp).
 *
 * Sanitizer builds (-fsanitize=address): LeakSanitizer checks for leaks at exit from a
 * tracer it starts with clone (no CLONE_THREAD) and ptrace, so those builds also allow clone
 * with any flags, ptrace and process_vm_readv; execve stays forbidden there too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "core/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

static const char *const allowed[] = {
	"adjtimex",
	"clock_adjtime",   /* glibc's adjtimex(); modes 0 only reads (setting needs CAP_SYS_TIME) */
	/* SQLite, running as root, gives a new journal or WAL file the database's owner */
	"fchown",
	"_llseek", "_newselect", "accept", "accept4", "access", "alarm", "arch_prctl", "arm_fadvise64_64",
	"bind", "brk", "cacheflush", "capget", "chdir", "chmod", "clock_getres", "clock_getres_time64",
	"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close",
	"close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "exit", "exit_group", "faccessat", "faccessat2",
	"fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fcntl",
	"fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat",
	"fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
	"futex_time64", "futex_waitv", "futimesat", "get_mempolicy", "get_robust_list", "get_thread_area",
	"getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
	"getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
	"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
	"getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
	"gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
	"io_pgetevents_time64", "io_setup", "io_submit",
	"ioctl", "ioprio_get", "ioprio_set", "ipc", "lgetxattr", "link", "linkat",
	"listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
	"madvise", "mbind", "membarrier", "memfd_create", "migrate_pages", "mkdir", "mkdirat", "mknod",
	"mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "move_pages", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
	"msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "nice",
	"oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname", "open", "openat", "openat2",
	"pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "poll", "ppoll", "ppoll_time64",
	"prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_madvise", "pselect6",
	"pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readdir", "readlink",
	"readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
	"removexattr", "rename", "renameat", "renameat2", "restart_syscall", "riscv_flush_icache",
	"riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "select", "semctl", "semget", "semop", "semtimedop",
	"semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
	"set_mempolicy", "set_mempolicy_home_node", "set_robust_list", "set_thread_area",
	"set_tid_address", "set_tls", "setitimer", "setpriority", "setsockopt", "setxattr", "shmat",
	"shmctl", "shmdt", "shmget", "shutdown", "sigaction", "sigaltstack", "signal", "signalfd",
	"signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "socket", "socketcall",
	"socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "swapcontext", "symlink",
	"symlinkat", "sync", "sync_file_range", "sync_file_range2", "syncfs", "sysinfo", "tee", "tgkill",
	"time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
	"timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
	"timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit",
	"umask", "uname", "unlink", "unlinkat", "unshare", "uretprobe", "utime", "utimensat",
	"utimensat_time64", "utimes", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev"
};

int sandbox_seccomp(char *err, size_t err_size)
{

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	size_t i, added = 0;
	int r;

	if (!ctx) {
		str_copy(err, err_size, "seccomp_init failed");
		return -ENOMEM;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; r == 0 && i < ARRAY_SIZE(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr < 0)
			continue;   /* another architecture's name (chown32, _llseek …) */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r == 0)
			added++;
	}
	/* threads only: clone with CLONE_THREAD; clone3's flags sit in memory a filter cannot read */
#ifdef SANDBOX_SANITIZER
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ptrace), 0);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(process_vm_readv), 0);
#else
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
#endif
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		str_printf(err, err_size, "cannot install the system-call allowlist: %s", strerror(-r));
		return r;
	}
	return (int)added;
}

/* --- dropping root (D2, docs/operations.md "Running as root") --- */

/* The data directory and what is directly in it must belong to the user: files the server
 * creates from now on are that user's, and one it cannot write would fail later, not now. */
static int check_owner(const char *dir, const struct passwd *pw, char *err, size_t err_size)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (lstat(dir, &st) < 0) {
		str_printf(err, err_size, "cannot read %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (st.st_uid != pw->pw_uid) {
		str_printf(err, err_size, "the data directory %s belongs to uid %u, not to %s (uid %u), the user kura serve"
			   " runs as: chown -R %s: %s", dir, (unsigned)st.st_uid, pw->pw_name, (unsigned)pw->pw_uid,
			   pw->pw_name, dir);
		return -EPERM;
	}
	d = opendir(dir);
	if (!d) {
		str_printf(err, err_size, "cannot read %s: %s", dir, strerror(errno));
		return -errno;
	}
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != pw->pw_uid) {
			str_printf(err, err_size, "%s/%s belongs to uid %u, not to %s (uid %u), the user kura serve runs as:"
				   " chown -R %s: %s", dir, de->d_name, (unsigned)st.st_uid, pw->pw_name,
				   (unsigned)pw->pw_uid, pw->pw_name, dir);
			r = -EPERM;
		}
	}
	closedir(d);
	return r;
}

/* No capability left in any set but the bounding one (which without file capabilities and
 * with no_new_privs gives nothing back). */
static bool caps_empty(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c) < 0)
		return false;
	return !c[0].effective && !c[1].effective && !c[0].permitted && !c[1].permitted &&
	       !c[0].inheritable && !c[1].inheritable;
}

int sandbox_drop_user(const char *user, const char *dir, char *err, size_t err_size)
{
	const char *name = user && user[0] ? user : SANDBOX_DEFAULT_USER;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	struct passwd *pw;
	int r;

	if (geteuid() != 0) {
		pw = user && user[0] ? getpwnam(user) : NULL;
		if (user && user[0] && (!pw || pw->pw_uid != geteuid())) {
			str_printf(err, err_size, "[server] user = %s, but kura serve was started as uid %u and only root"
				   " can change user: start it as root or as %s", user, (unsigned)geteuid(), user);
			return -EPERM;
		}
		return 0;
	}
	if (!strcmp(name, "root"))
		return 0;   /* [server] user = root: stays root, said at start */
	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		if (user && user[0])
			str_printf(err, err_size, "[server] user = %s: there is no such user", user);
		else
			str_printf(err, err_size, "started as root, kura serve drops to an unprivileged user after binding its"
				   " listeners, but there is no user %s: create it (useradd --system %s) or name another"
				   " with [server] user = NAME (user = root keeps root: not recommended)",
				   SANDBOX_DEFAULT_USER, SANDBOX_DEFAULT_USER);
		return -ESRCH;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		str_printf(err, err_size, "[server] user = %s has uid or gid 0: that is root; name an unprivileged user"
			   " (or user = root to keep root)", name);
		return -EPERM;
	}
	r = check_owner(dir, pw, err, err_size);
	if (r < 0)
		return r;
	/* the user's supplementary groups (ssl-cert for a key in /etc/ssl/private …), then the
	 * group, then the user: all three ids of each, so none is left to return to */
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		str_printf(err, err_size, "cannot become %s (uid %u): %s", name, (unsigned)pw->pw_uid, strerror(errno));
		return -EPERM;
	}
	{
		/* a user listed in group 0 (root's group) in /etc/group would keep it as a
		 * supplementary group: group root's files stay writable. Refuse. */
		int n = getgroups(0, NULL), i;
		gid_t *groups = n > 0 ? calloc((size_t)n, sizeof(*groups)) : NULL;

		if (n < 0 || (n > 0 && (!groups || getgroups(n, groups) != n))) {
			str_printf(err, err_size, "cannot read the groups of %s: %s", name, strerror(errno));
			free(groups);
			return -EPERM;
		}
		for (i = 0; i < n && groups[i] != 0; i++)
			;
		free(groups);
		if (i < n) {
			str_printf(err, err_size, "[server] user = %s is a member of group 0 (root) in /etc/group:"
				   " remove it from that group or name another user", name);
			return -EPERM;
		}
	}
	/* and check it: no id is 0, root cannot be taken back, no capability is left */
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != pw->pw_uid || eu != ru ||
	    su != ru || rg != pw->pw_gid || eg != rg || sg != rg || setuid(0) == 0 || seteuid(0) == 0 ||
	    setgid(0) == 0 || !caps_empty()) {
		str_printf(err, err_size, "after becoming %s the process could still regain root or keeps a capability",
			   name);
		return -EPERM;
	}
#ifdef SANDBOX_SANITIZER
	/* LeakSanitizer's tracer attaches with ptrace at exit, which a process made non-dumpable
	 * by the change of user refuses */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 1;
}

/* --- Landlock (docs/security.md "File access") --- */

/* newer than Debian 12's <linux/landlock.h> (ABI 2) */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define SANDBOX_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SANDBOX_LL_SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr of ABI 6; older kernels get the first fields only */
struct sandbox_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
			LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* What a running server reads outside its data directory: libraries and their data under
 * /usr (NSS modules for the SMTP relay's name, zoneinfo, CA certificates of Debian's
 * ca-certificates), the resolver's and TLS libraries' configuration, randomness. Missing
 * ones are skipped. Found with strace -f -e trace=openat,open on the integration tests of
 * mail, backup, erasure, metrics, exports and client certificates. */
static const char *const read_paths[] = {
	"/usr", "/lib", "/lib64", "/etc/ssl", "/etc/ca-certificates", "/etc/pki", "/etc/gnutls",
	"/etc/localtime", "/etc/timezone", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
	"/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/ld.so.cache",
	/* the management socket names its peer (root or the server's own user) in the audit log */
	"/etc/passwd", "/etc/group",
	"/dev/urandom", "/dev/random", "/sys/devices/system/cpu", "/proc/self",
};

static int ll_add(int ruleset, const char *path, uint64_t rights, uint64_t handled)
{
	struct landlock_path_beneath_attr pb = { 0 };
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC), r = 0;

	if (fd < 0)
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= LL_FILE_RIGHTS;
	pb.allowed_access = rights & handled;
	pb.parent_fd = fd;
	if (pb.allowed_access && syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

int sandbox_landlock_abi(char *err, size_t err_size)
{
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	if (abi < 0) {
		str_printf(err, err_size, "%s", errno == ENOSYS ? "the kernel has no Landlock (Linux 5.13 or later built"
			   " with CONFIG_SECURITY_LANDLOCK)" : errno == EOPNOTSUPP ? "Landlock is turned off in this kernel"
			   " (add landlock to its lsm= boot parameter)" : strerror(errno));
		return 0;
	}
	return abi;
}

/* threads of this process (entries of /proc/self/task); -1 when unknown */
static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int sandbox_landlock(const char *dir, const char *const *extra_read, char *err, size_t err_size)
{
	struct sandbox_ruleset_attr attr = { 0 };
	uint64_t all, rw, ro = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	size_t attr_size = sizeof(uint64_t), i;
	int abi, ruleset, r = 0;
	const char *bad = dir;

	if (threads() != 1) {
		str_copy(err, err_size, "Landlock must be set up before any thread starts");
		return -EBUSY;
	}
	abi = sandbox_landlock_abi(err, err_size);
	if (abi <= 0)
		return 0;
	all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;   /* ABI 1: execute … make_sym */
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	attr.handled_access_fs = all;
	if (abi >= 6) {
		/* no signal to, no abstract socket of, a process outside this sandbox */
		attr.scoped = SANDBOX_LL_SCOPE_ABSTRACT_UNIX | SANDBOX_LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	/* the data directory: everything but running programs and device nodes */
	rw = all & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		     LANDLOCK_ACCESS_FS_IOCTL_DEV);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0) {
		str_printf(err, err_size, "cannot create the Landlock ruleset: %s", strerror(errno));
		return -errno;
	}
	r = ll_add(ruleset, dir, rw, all);
	for (i = 0; r == 0 && i < ARRAY_SIZE(read_paths); i++)
		r = ll_add(ruleset, bad = read_paths[i], ro, all);
	for (i = 0; r == 0 && extra_read && extra_read[i]; i++)
		r = ll_add(ruleset, bad = extra_read[i], ro, all);
	if (r == 0)
		r = ll_add(ruleset, bad = "/dev/null", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE, all);
	if (r < 0) {
		str_printf(err, err_size, "cannot allow %s in the Landlock ruleset: %s", bad, strerror(-r));
		close(ruleset);
		return r;
	}
	/* every thread: landlock_restrict_self is per thread, so it runs before any starts */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		r = -errno;
		str_printf(err, err_size, "cannot restrict file access with Landlock: %s", strerror(-r));
		close(ruleset);
		return r;
	}
	close(ruleset);
	return abi;
}
