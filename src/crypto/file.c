/*
 * Writing new files that hold keys or certificates: created with O_EXCL so nothing existing
 * is ever overwritten, given their exact mode whatever the umask, and made durable (file and
 * directory fsync) before success is reported. A failed fsync is fatal, never retried.
 *
 * Replacing a file (crypto_replace_file) writes PATH.tmp that way and renames it over PATH,
 * so a reader sees the old or the new content, never a mix.
 *
 * SECURITY: the caller's buffer may be a secret; nothing is copied, and a half-written file
 * is unlinked so no truncated key is left to be loaded later.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

static int fsync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd = -1, r;

	r = str_copy(dir, sizeof(dir), path);
	if (r < 0)
		return r;
	slash = strrchr(dir, '/');
	if (!slash)
		r = str_copy(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (r < 0)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int crypto_write_new_file(const char *path, const void *data, size_t n, mode_t mode)
{
	const unsigned char *p = data;
	size_t done = 0;
	ssize_t k;
	bool created = false;
	int fd = -1, r;

	if (!path || !*path || (!data && n))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	created = true;
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto out;
	}
	while (done < n) {
		k = write(fd, p + done, n - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		done += (size_t)k;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	r = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (r < 0)
		goto out;
	r = fsync_parent_dir(path);
out:
	if (fd >= 0)
		close(fd);
	if (r < 0 && created)
		unlink(path);
	return r;
}

int crypto_rename_durable(const char *from, const char *to)
{
	if (!from || !to)
		return -EINVAL;
	if (rename(from, to) < 0)
		return -errno;
	return fsync_parent_dir(to);
}

int crypto_replace_file(const char *path, const void *data, size_t n, unsigned mode)
{
	char tmp[PATH_MAX];
	int r;

	r = str_printf(tmp, sizeof(tmp), "%s.tmp", path);
	if (r < 0)
		return r;
	unlink(tmp);   /* left by a crash: never a file anyone reads */
	r = crypto_write_new_file(tmp, data, n, (mode_t)mode);
	if (r < 0)
		return r;
	r = crypto_rename_durable(tmp, path);
	if (r < 0)
		unlink(tmp);
	return r;
}
