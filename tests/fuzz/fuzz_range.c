/*
 * libFuzzer target for parse_range() of src/http/api_files.c (included): the Range header of
 * a file download (WebDAV GET, API and share links). Input: 8 bytes of file size (little
 * endian, the top bit cleared: sizes are int64 in kura), then the header value. Checks the
 * three answers: 0 (serve the whole file), -1 (416) or 1 with a range that lies inside the
 * file: 1 <= len, start + len <= size, without overflow; a header that is not one
 * "bytes=" range is always 0; a first-byte position at or past the end is never a range.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/http/api_files.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t file_size = 0, start = UINT64_MAX, len = UINT64_MAX;
	char *h;
	size_t i;
	int r;

	if (size < 8 || size > 8 + 256)
		return 0;
	for (i = 0; i < 8; i++)
		file_size |= (uint64_t)data[i] << (8 * i);
	file_size &= INT64_MAX;
	h = malloc(size - 8 + 1);
	if (!h)
		return 0;
	memcpy(h, data + 8, size - 8);
	h[size - 8] = '\0';
	r = parse_range(h, file_size, &start, &len);
	if (r < -1 || r > 1)
		abort();
	if (r == 1) {
		if (len < 1 || start >= file_size || len > file_size - start)
			abort();
	} else if (start != UINT64_MAX || len != UINT64_MAX) {
		abort();   /* outputs written although no range was found */
	}
	if (strncmp(h, "bytes=", 6) && r != 0)
		abort();
	if (file_size == 0 && r == 1)
		abort();
	free(h);
	return 0;
}
