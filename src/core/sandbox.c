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
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>

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
