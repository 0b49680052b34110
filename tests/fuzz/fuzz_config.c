/*
 * libFuzzer target for config_load() (src/core/config.c on inih): the input is written to a
 * memfd and loaded through /proc/self/fd/N, so no disk is touched. Checks the error message
 * is a terminated string that fits the buffer, and that a config that loads is within the
 * documented bounds: strings terminated in their fields, starttls and log level from their
 * fixed sets, and the session and lockout numbers non-zero.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	int r;

	if (size > 64 * 1024)
		return 0;
	if (fd < 0) {
		fd = memfd_create("kura-fuzz-config", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = '\0';
	memset(&cfg, 0xa5, sizeof(cfg));
	r = config_load(&cfg, path, err, sizeof(err));
	check_str(err, sizeof(err));
	if (r < 0) {
		if (r != -EINVAL || !err[0])
			abort();
		return 0;
	}
	check_str(cfg.listen, sizeof(cfg.listen));
	check_str(cfg.public_url, sizeof(cfg.public_url));
	check_str(cfg.smtp_password, sizeof(cfg.smtp_password));
	check_str(cfg.default_zone, sizeof(cfg.default_zone));
	check_str(cfg.smtp_starttls, sizeof(cfg.smtp_starttls));
	check_str(cfg.log_level, sizeof(cfg.log_level));
	if (strcmp(cfg.smtp_starttls, "try") && strcmp(cfg.smtp_starttls, "require") &&
	    strcmp(cfg.smtp_starttls, "off"))
		abort();
	if (strcmp(cfg.log_level, "debug") && strcmp(cfg.log_level, "info") &&
	    strcmp(cfg.log_level, "warn") && strcmp(cfg.log_level, "error"))
		abort();
	if (!cfg.session_idle_s || !cfg.session_absolute_s || !cfg.invitation_ttl_s ||
	    !cfg.lockout_threshold || !cfg.pwhash_ops || !cfg.pwhash_mem_kib)
		abort();
	return 0;
}
