/* detour server: listening sockets, for the workers (one SO_REUSEPORT
 * socket per worker and address, so the kernel spreads connections) and for
 * the admin listener. */
#ifndef DETOUR_LISTEN_H
#define DETOUR_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "detour/config.h"

/* Opens a non-blocking listening socket on ln (IPv6 sockets are IPv6-only;
 * SO_REUSEPORT when reuseport, so that each worker has its own). Returns the
 * descriptor, or -1 with "cannot listen on WHAT[ADDR]:PORT: reason" in err. */
int listen_open(const struct detour_listen *ln, bool reuseport, int backlog, const char *what,
                char *err, size_t cap);

/* A worker listener's socket options, inherited by the connections it
 * accepts: TCP_NODELAY, and TCP_DEFER_ACCEPT (1 s), so that a connection is
 * accepted with its first request already readable. Errors are ignored. */
void listen_tune(int fd);

#endif
