/* detour server: privilege drop for `user NAME`, see privdrop.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int privdrop_prepare(const struct detour_config *conf, struct privdrop *p, char *err, size_t cap)
{
	struct passwd *pw;

	memset(p, 0, sizeof(*p));
	if (conf->user[0] == '\0')
		return 0;
	pw = getpwnam(conf->user);
	if (pw == NULL) {
		snprintf(err, cap, "%s: user %s: no such user", conf->file, conf->user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0; /* already that user: nothing to drop */
		snprintf(err, cap, "%s: user %s: detour must start as root to switch to it",
		         conf->file, conf->user);
		return -1;
	}
	p->active = true;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	snprintf(p->user, sizeof(p->user), "%s", conf->user);
	return 0;
}

int privdrop_finish(const struct privdrop *p, char *err, size_t cap)
{
	if (!p->active)
		return 0;
	/* glibc applies set*id to every thread of the process. */
	if (initgroups(p->user, p->gid) || setgid(p->gid) || setuid(p->uid)) {
		snprintf(err, cap, "cannot switch to user %s: %s", p->user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, cap, "switched to user %s but could regain root", p->user);
		return -1;
	}
	log_info("running as user %s (uid %u)", p->user, (unsigned)p->uid);
	return 0;
}
