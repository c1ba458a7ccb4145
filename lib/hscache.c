/* detour: the key and the format of a compiled-database cache entry, see
 * include/detour/hscache.h and docs/internals/table.md, "The database
 * cache". Pure: bytes in, bytes out; the files are the caller's. */
#include <hs/hs.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detour/hscache.h"

static const char magic[8] = {'D', 'T', 'R', 'H', 'S', 'D', 'B', '1'};

/* Labels the key's input, so that no other SHA-256 in detour collides with
 * it; a change of what the key covers changes the label. */
static const char key_label[] = "detour hs cache key 1";

/* ------------------------------------------------------------------- key */

static void put32(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int upd32(EVP_MD_CTX *c, uint64_t v)
{
	uint8_t b[4];

	put32(b, v);
	return EVP_DigestUpdate(c, b, sizeof(b)) == 1 ? 0 : -1;
}

/* A length-prefixed string, so that no two sequences of pieces hash as one. */
static int upds(EVP_MD_CTX *c, const char *s, size_t n)
{
	if (upd32(c, n) || (n && EVP_DigestUpdate(c, s, n) != 1))
		return -1;
	return 0;
}

int detour_hscache_key(const char *const *pats, const unsigned *flags, size_t n,
                       uint8_t key[DETOUR_HSCACHE_KEY_LEN])
{
	hs_platform_info_t pl;
	const char *ver = hs_version();
	EVP_MD_CTX *c;
	unsigned len = 0;
	int rc = -1;

	memset(&pl, 0, sizeof(pl));
	if (hs_populate_platform(&pl) != HS_SUCCESS || n > UINT32_MAX)
		return -1;
	c = EVP_MD_CTX_new();
	if (c == NULL)
		return -1;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    upds(c, key_label, sizeof(key_label) - 1) || upds(c, ver, strlen(ver)) ||
	    upd32(c, pl.tune) || upd32(c, pl.cpu_features >> 32) ||
	    upd32(c, pl.cpu_features & 0xffffffffu) || upd32(c, HS_MODE_BLOCK) || upd32(c, n))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (upds(c, pats[i], strlen(pats[i])) || upd32(c, flags[i]))
			goto out;
	if (EVP_DigestFinal_ex(c, key, &len) == 1 && len == DETOUR_HSCACHE_KEY_LEN)
		rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

char *detour_hscache_hex(const uint8_t key[DETOUR_HSCACHE_KEY_LEN],
                         char hex[DETOUR_HSCACHE_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < DETOUR_HSCACHE_KEY_LEN; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 15];
	}
	hex[2 * DETOUR_HSCACHE_KEY_LEN] = '\0';
	return hex;
}

/* ---------------------------------------------------------------- format */

#define HEAD    (sizeof(magic) + DETOUR_HSCACHE_KEY_LEN + 4)
#define SUM     32
#define WHY_MAX 0xffff

static size_t why_len(const char *w)
{
	size_t n = w ? strlen(w) : 0;

	return n > WHY_MAX ? WHY_MAX : n;
}

void *detour_hscache_pack(const uint8_t key[DETOUR_HSCACHE_KEY_LEN], const uint8_t *outcome,
                          const char *const *why, size_t ncand, const void *db, size_t dblen,
                          size_t *len)
{
	size_t total = HEAD + ncand + 8 + dblen + SUM;
	uint8_t *buf, *p;

	*len = 0;
	if (ncand > UINT32_MAX)
		return NULL;
	for (size_t k = 0; k < ncand; k++)
		if (outcome[k] == DETOUR_HSCACHE_REFUSED)
			total += 2 + why_len(why ? why[k] : NULL);
	buf = malloc(total);
	if (buf == NULL)
		return NULL;
	p = buf;
	memcpy(p, magic, sizeof(magic));
	p += sizeof(magic);
	memcpy(p, key, DETOUR_HSCACHE_KEY_LEN);
	p += DETOUR_HSCACHE_KEY_LEN;
	put32(p, ncand);
	p += 4;
	if (ncand)
		memcpy(p, outcome, ncand);
	p += ncand;
	for (size_t k = 0; k < ncand; k++) {
		if (outcome[k] != DETOUR_HSCACHE_REFUSED)
			continue;
		size_t n = why_len(why ? why[k] : NULL);
		p[0] = (uint8_t)n;
		p[1] = (uint8_t)(n >> 8);
		if (n)
			memcpy(p + 2, why[k], n);
		p += 2 + n;
	}
	put64(p, dblen);
	p += 8;
	if (dblen)
		memcpy(p, db, dblen);
	p += dblen;
	if (EVP_Digest(buf, (size_t)(p - buf), p, NULL, EVP_sha256(), NULL) != 1) {
		free(buf);
		return NULL;
	}
	*len = total;
	return buf;
}

static int bad(char *err, size_t cap, const char *why)
{
	snprintf(err, cap, "%s", why);
	return -1;
}

int detour_hscache_unpack(const void *buf, size_t len, const uint8_t key[DETOUR_HSCACHE_KEY_LEN],
                          size_t ncand, struct detour_hscache_entry *e, char *err, size_t cap)
{
	const uint8_t *b = buf, *p, *end;
	uint8_t sum[SUM];

	memset(e, 0, sizeof(*e));
	if (len < HEAD + 8 + SUM)
		return bad(err, cap, "too short");
	if (memcmp(b, magic, sizeof(magic)))
		return bad(err, cap, "not a detour database cache entry of this version");
	if (memcmp(b + sizeof(magic), key, DETOUR_HSCACHE_KEY_LEN))
		return bad(err, cap, "stored under another key");
	if (get(b + sizeof(magic) + DETOUR_HSCACHE_KEY_LEN, 4) != ncand)
		return bad(err, cap, "another number of patterns");
	end = b + len - SUM;
	p = b + HEAD;
	if ((size_t)(end - p) < ncand + 8)
		return bad(err, cap, "truncated");
	e->outcome = p;
	p += ncand;
	e->why = p;
	for (size_t k = 0; k < ncand; k++) {
		if (e->outcome[k] > DETOUR_HSCACHE_REFUSED)
			return bad(err, cap, "unknown outcome");
		if (e->outcome[k] != DETOUR_HSCACHE_REFUSED)
			continue;
		if (end - p < 2 || (size_t)(end - p - 2) < get(p, 2))
			return bad(err, cap, "truncated");
		p += 2 + get(p, 2);
	}
	if (end - p < 8)
		return bad(err, cap, "truncated");
	e->dblen = (size_t)get(p, 8);
	p += 8;
	if (e->dblen != (size_t)(end - p))
		return bad(err, cap, "wrong length");
	e->db = p;
	if (EVP_Digest(b, len - SUM, sum, NULL, EVP_sha256(), NULL) != 1 || memcmp(sum, end, SUM)) {
		memset(e, 0, sizeof(*e));
		return bad(err, cap, "checksum mismatch");
	}
	return 0;
}

const char *detour_hscache_why(const uint8_t **at, size_t *n)
{
	const char *s = (const char *)*at + 2;

	*n = (size_t)get(*at, 2);
	*at += 2 + *n;
	return s;
}
