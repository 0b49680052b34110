/* kura serve's system-call allowlist (sandbox.c, libseccomp). */
#ifndef KURA_CORE_SANDBOX_H
#define KURA_CORE_SANDBOX_H
#include "core/core.h"

/* Installs the allowlist on every thread of the process; a call outside it kills the
 * process. The number of system calls allowed, or < 0 with a message in err. */
int sandbox_seccomp(char *err, size_t err_size);
#endif
