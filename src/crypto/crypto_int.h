/*
 * Helpers shared by the files of the crypto module; not part of its interface.
 */
#ifndef KURA_CRYPTO_CRYPTO_INT_H
#define KURA_CRYPTO_CRYPTO_INT_H
#include <sys/types.h>

#include "core/core.h"

/* Creates path (O_EXCL, exactly mode whatever the umask) holding n bytes of data, fsyncs the
 * file and its directory. On failure nothing is left behind (a file it made is unlinked).
 * 0, -EEXIST when path exists, or another -errno. */
int crypto_write_new_file(const char *path, const void *data, size_t n, mode_t mode) KURA_WUR;

/* data/common-passwords.txt, embedded at build time (cmake/embed.cmake) for password.c:
 * newline-separated, lower-case, NUL-terminated. */
extern const char *const embedded_common_passwords;
extern const size_t embedded_common_passwords_len;
#endif
