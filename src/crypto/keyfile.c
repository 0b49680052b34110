/*
 * Key files: a file holding exactly n random bytes (the master key), owner-only.
 *
 * SECURITY: created with O_EXCL (an existing key is never overwritten) and made durable
 * before success. Loading refuses a file that group or others may read (like ssh refusing
 * an open private key) and one of the wrong size (a truncated or foreign file); the key goes
 * into sodium_malloc'ed memory (guard pages, mlock, wiped on free).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#define KEYFILE_MAX_BYTES 4096

int keyfile_create(const char *path, size_t n)
{
	unsigned char *key = NULL;
	int r;

	if (!path || n == 0 || n > KEYFILE_MAX_BYTES)
		return -EINVAL;
	key = sodium_malloc(n);
	if (!key)
		return -ENOMEM;
	randombytes_buf(key, n);
	r = crypto_write_new_file(path, key, n, 0600);
	sodium_free(key);
	return r;
}

int keyfile_load(const char *path, size_t n, unsigned char **ret)
{
	unsigned char *key = NULL;
	struct stat st;
	size_t done = 0;
	ssize_t k;
	int fd = -1, r;

	if (!path || !ret || n == 0 || n > KEYFILE_MAX_BYTES)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		r = -EPERM;
		goto out;
	}
	if (st.st_size < 0 || (size_t)st.st_size != n) {
		r = -EINVAL;
		goto out;
	}
	key = sodium_malloc(n);
	if (!key) {
		r = -ENOMEM;
		goto out;
	}
	while (done < n) {
		k = read(fd, key + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			goto out;
		}
		if (k == 0) {
			r = -EIO;   /* shrank under us */
			goto out;
		}
		done += (size_t)k;
	}
	*ret = key;
	key = NULL;
	r = 0;
out:
	if (key)
		sodium_free(key);   /* wipes */
	if (fd >= 0)
		close(fd);
	return r;
}

unsigned char *keyfile_free(unsigned char *key, size_t n)
{
	if (key) {
		sodium_memzero(key, n);
		sodium_free(key);
	}
	return NULL;
}
