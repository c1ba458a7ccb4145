/* detour base: value parsers (see value.h). */
#include "base/value.h"

#include "base/civil.h"

int64_t value_duration(const char *s, size_t len)
{
	const int64_t max = INT64_C(10) * 365 * 86400; /* ten years */
	int64_t v = 0, mult = 1;
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
		i++;
	}
	if (i == 0)
		return -1;
	if (i + 1 == len) {
		switch (s[i]) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 7 * 86400;
			break;
		case 'y': /* 365 days, as HSTS's max-age=1y means (docs/config.md) */
			mult = 365 * 86400;
			break;
		default:
			return -1;
		}
	} else if (i != len) {
		return -1;
	}
	if (v > max / mult)
		return -1;
	return v * mult;
}

int64_t value_size(const char *p, size_t len)
{
	int64_t v = 0, mult = 1;
	size_t i = 0;

	if (len == 0)
		return -1;
	switch (p[len - 1]) {
	case 'k':
	case 'K':
		mult = 1024;
		len--;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		len--;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		len--;
		break;
	}
	if (len == 0 || len > 12)
		return -1;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v > INT64_MAX / mult)
		return -1; /* "999999999999g": too large, never a signed overflow */
	return v * mult;
}

bool value_retry_after(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == len)
		return len >= 1 && len <= 10;
	return civil_is_http_date(p, len);
}
