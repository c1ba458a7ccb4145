/* detour server: the error log, see log.h. Each message is formatted on the
 * stack. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/civil.h"
#include "detour/config.h"
#include "log.h"

static int log_fd = 2;
static char log_path[DETOUR_CONF_PATH_MAX];

void log_open(const char *path)
{
	snprintf(log_path, sizeof(log_path), "%s", path ? path : "");
	log_reopen();
}

void log_reopen(void)
{
	int fd;

	if (log_path[0] == '\0')
		return;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("cannot open error log %s: %s", log_path, strerror(errno));
		return;
	}
	if (log_fd == 2) {
		log_fd = fd;
		return;
	}
	dup2(fd, log_fd);
	close(fd);
}

void log_msg(const char *level, const char *fmt, ...)
{
	char buf[2048], at[CIVIL_RFC3339_MAX];
	struct timespec ts;
	va_list ap;
	int n, m;

	/* The real clock (not DETOUR_NOW's), as an RFC 3339 UTC time. */
	clock_gettime(CLOCK_REALTIME, &ts);
	civil_format_rfc3339((int64_t)ts.tv_sec, at);
	n = snprintf(buf, sizeof(buf), "%s detour[%d] %s: ", at, (int)getpid(), level);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(log_fd, buf, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
}
