/* detour base: copying a big, mostly empty structure into fresh zeroed
 * memory without touching the pages that would only receive zeros (see
 * docs/internals/base.md).
 *
 * A page of fresh anonymous memory (calloc's new mapping) that is never
 * touched costs nothing. Copying a structure of zeros into it still gives
 * the process a page of its own for each of them. struct detour_config is
 * over a megabyte of fixed-size arrays, nearly all zero: the server's copy
 * of it made 1.1 MB of every server resident (issue 10). */
#ifndef DETOUR_BASE_SPARSE_H
#define DETOUR_BASE_SPARSE_H

#include <stddef.h>

/* Copies src[0..n) to dst[0..n), which must be all zero already (fresh
 * calloc memory), writing only the parts of each 4 KiB page of dst whose
 * bytes in src are not all zero; dst is never read. The two must not
 * overlap. */
void base_copy_sparse(void *dst, const void *src, size_t n);

#endif
