/* detour: the config parser's shared helpers, see config_args.h. */
#include <stdio.h>
#include <string.h>

#include "config_args.h"

detour_err conf_fail(struct pstate *s, unsigned col, const char *fmt, const char *p, size_t len)
{
	char tmp[128];
	size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;

	memcpy(tmp, p, n);
	tmp[n] = '\0';
	detour_diag_set(s->d, s->name, s->line, col, fmt, tmp);
	return DETOUR_EINVAL;
}

bool conf_arg_is(const struct arg *a, const char *word)
{
	return a->len == strlen(word) && memcmp(a->p, word, a->len) == 0;
}

/* Copies a path argument, resolved against the config file's directory. */
detour_err conf_set_path(struct pstate *s, const struct arg *a, char *dst)
{
	int n;

	if (a->p[0] == '/' || s->dir[0] == '\0')
		n = snprintf(dst, DETOUR_CONF_PATH_MAX, "%.*s", (int)a->len, a->p);
	else /* a config in "/" gives "/x", not "//x" */
		n = snprintf(dst, DETOUR_CONF_PATH_MAX, "%s/%.*s",
		             strcmp(s->dir, "/") ? s->dir : "", (int)a->len, a->p);
	if (n < 0 || n >= DETOUR_CONF_PATH_MAX)
		return conf_fail(s, a->col, "path too long: \"%s\"", a->p, a->len);
	return DETOUR_OK;
}

/* Splits a comma list into args with their own columns; calls fn on each. */
detour_err conf_each_item(struct pstate *s, const struct arg *v,
                          detour_err (*fn)(struct pstate *s, const struct arg *item))
{
	size_t i = 0;

	while (i <= v->len) {
		size_t l = 0;
		while (i + l < v->len && v->p[i + l] != ',')
			l++;
		struct arg item = {v->p + i, l, v->col + (unsigned)i};
		if (l == 0)
			return conf_fail(s, item.col, "empty item in the list \"%s\"", v->p,
			                 v->len);
		if (fn(s, &item) != DETOUR_OK)
			return DETOUR_EINVAL;
		i += l + 1;
	}
	return DETOUR_OK;
}

/* Splits "key=value": returns the value part as an arg, or false. */
bool conf_key_value(const struct arg *a, const char *key, struct arg *v)
{
	size_t kl = strlen(key);

	if (a->len <= kl + 1 || memcmp(a->p, key, kl) != 0 || a->p[kl] != '=')
		return false;
	*v = (struct arg){a->p + kl + 1, a->len - kl - 1, a->col + (unsigned)kl + 1};
	return true;
}
