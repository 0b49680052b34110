/*
 * CBOR pre-validation (RFC 8949 well-formedness plus bounds), run on untrusted bytes before
 * they reach libcbor's cbor_load() or libfido2, which call it internally.
 *
 * Why: libcbor allocates for what an item header declares, before it reads the contents. An
 * array header 0x9a ffffffff (5 bytes) makes it allocate and zero 2^32 pointers (32 GiB).
 * cborval walks the item headers without allocating and refuses a declared length or count
 * that the bytes actually present cannot hold (a string needs its length in bytes, an array
 * element or a map key or value at least one byte each), nesting deeper than max_depth
 * (arrays, maps and tags count; libcbor frees and serializes recursively), reserved
 * additional-information values, a break outside an indefinite-length item, and
 * indefinite-length string chunks that are not definite strings of the same major type.
 * What passes decodes in libcbor with memory proportional to its length.
 */
#ifndef KURA_CORE_CBORVAL_H
#define KURA_CORE_CBORVAL_H
#include "core/core.h"

/* Checks the one CBOR data item that starts at p (at most n bytes); its length goes to
 * ret_len (bytes may follow it). 0, or -EINVAL when it is malformed, truncated, declares
 * more than the bytes present or nests deeper than max_depth (1: no container in a container). */
int cborval_item(const unsigned char *p, size_t n, unsigned max_depth, size_t *ret_len) KURA_WUR;

/* Checks that p[0..n) is exactly n_items well-formed CBOR items, one after another (an RFC 8742
 * sequence), each as cborval_item() checks it. 0 or -EINVAL. */
int cborval_sequence(const unsigned char *p, size_t n, size_t n_items, unsigned max_depth) KURA_WUR;
#endif
