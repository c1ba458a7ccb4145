/* Shared helpers for the cmocka unit tests. */
#ifndef DETOUR_UNIT_H
#define DETOUR_UNIT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* A copy of s[0..len) placed so that its last byte is the last byte before a
 * PROT_NONE page: any read past the end faults (picohttpparser's test.c
 * trick). Release with guard_free(). */
struct guard {
	char *map;
	size_t map_len;
	char *p;
};

static inline char *guard_copy(struct guard *g, const void *s, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + (size_t)pg - 1) / (size_t)pg;
	if (data_pages == 0)
		data_pages = 1;
	g->map_len = (data_pages + 1) * (size_t)pg;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + data_pages * (size_t)pg, (size_t)pg, PROT_NONE), 0);
	g->p = g->map + data_pages * (size_t)pg - len;
	if (len)
		memcpy(g->p, s, len);
	return g->p;
}

static inline void guard_free(struct guard *g)
{
	munmap(g->map, g->map_len);
}

/* The socket address of the literal s ("192.0.2.1" or "2001:db8::1"), for
 * tests of address matching. */
static inline struct sockaddr_storage unit_addr(const char *s)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, s, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, s, &a->sin_addr), 1);
	}
	return ss;
}

#endif
