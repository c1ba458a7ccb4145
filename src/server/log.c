/* detour server: the error log, see log.h. Each message is formatted on the
 * stack. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(buf, sizeof(buf),
	             "%04d-%02d-%02dT%02d:%02d:%02dZ detour[%d] %s: ", tm.tm_year + 1900,
	             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid(),
	             level);
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
