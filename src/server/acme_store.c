/* detour server: the ACME client's files, see acme_store.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acme_store.h"

#define READ_MAX (1u << 20)

int acme_store_dir(const struct detour_config *conf, char *out, size_t cap)
{
	const char *h = conf->acme.directory + 8; /* after "https://" (config.c checked) */
	char ca[256];
	size_t n = 0;
	int w;

	/* The authority only, with ':' (a port) as '_': a file name. */
	for (; *h && *h != '/' && *h != '?' && *h != '#' && n + 1 < sizeof(ca); h++) {
		char c = *h;
		ca[n++] = (c == ':' || c == '@' || c == '[' || c == ']') ? '_' : c;
	}
	ca[n] = '\0';
	if (n == 0 || !strcmp(ca, ".") || !strcmp(ca, ".."))
		return -1;
	w = snprintf(out, cap, "%s/acme/%s", conf->state_dir[0] ? conf->state_dir : ".", ca);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int acme_store_mkdir(const char *dir)
{
	char buf[DETOUR_CONF_PATH_MAX + 300];

	if (strlen(dir) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -1;
	return 0;
}

int acme_store_write(const char *dir, const char *name, const void *data, size_t len, char *err,
                     size_t errlen)
{
	char tmp[DETOUR_CONF_PATH_MAX + 600], dst[DETOUR_CONF_PATH_MAX + 600];
	const char *p = data;
	int fd, dfd;

	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, 0600) || fsync(fd)) {
		snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	if (rename(tmp, dst)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself is durable once the directory is synced. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

char *acme_store_read(const char *dir, const char *name, size_t *len)
{
	char path[DETOUR_CONF_PATH_MAX + 600], *buf;
	struct stat st;
	size_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size < 0 || (size_t)st.st_size > READ_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}
