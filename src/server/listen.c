/* detour server: listening sockets, see listen.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

int listen_open(const struct detour_listen *ln, bool reuseport, int backlog, const char *what,
                char *err, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;
	int fd = socket(ln->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                0);

	memset(&ss, 0, sizeof(ss));
	if (ln->ipv6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(ln->port);
		inet_pton(AF_INET6, ln->host, &a->sin6_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(ln->port);
		inet_pton(AF_INET, ln->host, &a->sin_addr);
		sl = sizeof(*a);
	}
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    (ln->ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, backlog)) {
		snprintf(err, cap, "cannot listen on %s%s%s%s:%u: %s", what, ln->ipv6 ? "[" : "",
		         ln->host, ln->ipv6 ? "]" : "", ln->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

void listen_tune(int fd)
{
	int one = 1;

	/* Inherited by every accepted socket (Linux copies the listener's
	 * TCP options to the child), so no setsockopt per connection. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Accept only once the first bytes arrived: the worker's first read
	 * then finds the request. A client that sends nothing is accepted
	 * after one SYN-ACK retransmission (about 1 s) and then meets the
	 * header timeout as before. Not fatal where unsupported. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
}
