/* detour base: growing dynamic arrays (see docs/internals/base.md).
 *
 *   struct item *v = NULL; size_t n = 0, cap = 0;
 *   if (BASE_GROW(v, cap, n + 1) != 0)
 *           return DETOUR_ENOMEM;        // v and cap unchanged
 *   v[n++] = x;
 *
 * The capacity at least doubles (from 8 elements), so appending n elements
 * costs O(n) copies; the element count times the element size is checked
 * for overflow before anything is allocated. */
#ifndef DETOUR_BASE_GROW_H
#define DETOUR_BASE_GROW_H

#include <stddef.h>

/* Makes the array at *pp (void ** in disguise: the address of any object
 * pointer, read and written with memcpy so that no type is punned) hold at
 * least need elements of elem bytes. *cap is its capacity in elements.
 * Returns 0 (also when need <= *cap: nothing is done), or -1 when out of
 * memory or need * elem overflows; then *pp and *cap are unchanged and the
 * old array is still valid. New elements are not initialised. */
int base_grow(void *pp, size_t *cap, size_t need, size_t elem);

/* base_grow on an array variable arr (any T *) and its size_t capacity. */
#define BASE_GROW(arr, cap, need) base_grow(&(arr), &(cap), (need), sizeof(*(arr)))

#endif
