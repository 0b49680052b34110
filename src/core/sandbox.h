/* kura serve's system-call allowlist (sandbox.c, libseccomp). */
#ifndef KURA_CORE_SANDBOX_H
#define KURA_CORE_SANDBOX_H
#include "core/core.h"

/* Installs the allowlist on every thread of the process; a call outside it kills the
 * process. The number of system calls allowed, or < 0 with a message in err. */
int sandbox_seccomp(char *err, size_t err_size);

/* The user kura serve drops to when started as root and [server] user is empty. */
#define SANDBOX_DEFAULT_USER "kura"

/* Started as root: becomes user (NULL or "" = kura) with its groups, checks that root cannot
 * be regained and no capability is left; refuses when there is no such user, it is uid 0, or
 * dir or an entry directly in it is not the user's. user "root" keeps root (0). Not root:
 * only checks that user, when set, is the current user and that dir is its (0). 1 when it
 * dropped, < 0 with a message in err. Call before any thread starts. */
int sandbox_drop_user(const char *user, const char *dir, char *err, size_t err_size);

/* Landlock: from now on this thread and those it starts may open files beneath dir
 * (everything but execute and device nodes) and read those beneath the paths every server
 * reads (/usr, /etc/ssl, …) and extra_read (NULL-terminated, may be NULL). The Landlock ABI
 * in force (> 0), 0 when the kernel offers none (the reason in err), < 0 with a message in
 * err. Call before any thread starts. */
int sandbox_landlock(const char *dir, const char *const *extra_read, char *err, size_t err_size);

/* The Landlock ABI this kernel offers (> 0), or 0 with the reason in err. */
int sandbox_landlock_abi(char *err, size_t err_size);
#endif
