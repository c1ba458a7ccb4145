/* detour: the compiled-database cache of the regex index (lib/hscache.c).
 *
 * vectorscan needs about a millisecond a pattern to compile the table's
 * regex database (lib/table_hs.c): 10,000 prefix-less regexes take 8-28 s.
 * A server with a state directory keeps the serialised database
 * (hs_serialize_database) there, keyed by a SHA-256 of everything the
 * compile depends on, and loads it (hs_deserialize_database) on the next
 * start or reload when the key matches. This module is the pure part: the
 * key, and the entry's format (packing, and unpacking with every check);
 * reading and writing files is the caller's, through struct detour_hscache
 * (src/server/hsstore.c). See docs/internals/table.md, "The database cache".
 *
 * The entry, all integers little-endian:
 *   "DTRHSDB1"             8 bytes: magic and format version
 *   key                    32 bytes: the key it was stored under
 *   ncand                  u32: the candidate patterns the key covers
 *   outcome[ncand]         u8 each: DETOUR_HSCACHE_EXACT, _PREFILTER or _REFUSED
 *   for each refused one:  u16 length, then vectorscan's message (no NUL)
 *   dblen                  u64, then dblen bytes of hs_serialize_database
 *   sha256                 32 bytes over everything before it
 */
#ifndef DETOUR_HSCACHE_H
#define DETOUR_HSCACHE_H

#include <stddef.h>
#include <stdint.h>

#define DETOUR_HSCACHE_KEY_LEN 32
/* The key in hex, NUL-terminated: the entry's file name stem. */
#define DETOUR_HSCACHE_HEX_LEN (2 * DETOUR_HSCACHE_KEY_LEN + 1)

/* What became of one candidate pattern. */
enum detour_hscache_outcome {
	DETOUR_HSCACHE_EXACT = 0,     /* in the database with its own flags */
	DETOUR_HSCACHE_PREFILTER = 1, /* in the database with HS_FLAG_PREFILTER added */
	DETOUR_HSCACHE_REFUSED = 2,   /* left on PCRE2, with vectorscan's message */
};

/* What a note says. */
enum detour_hscache_note {
	DETOUR_HSCACHE_INFO = 0,      /* loaded from the cache */
	DETOUR_HSCACHE_WARN = 1,      /* an entry found and ignored */
	DETOUR_HSCACHE_COMPILING = 2, /* a compile starts (seconds for thousands of patterns) */
	DETOUR_HSCACHE_COMPILED = 3,  /* it ended: how long it took */
};

/* The hooks a caller gives the table build (detour_ruleset_hscache) to keep
 * the database between runs. Every hook is called from the building thread
 * only; the build never fails because of them. */
struct detour_hscache {
	/* The entry stored under hex, as new memory (*len bytes, freed with
	 * free()), or NULL when there is none or it cannot be read (the hook
	 * says why through note when it is more than absent). */
	void *(*load)(void *arg, const char *hex, size_t *len);
	/* Stores buf[0..len) under hex, replacing any entry, atomically (no
	 * reader ever sees half an entry); errors are the hook's to report. */
	void (*store)(void *arg, const char *hex, const void *buf, size_t len);
	/* A line for the log: what the build did and how long it took (kind:
	 * enum detour_hscache_note). Every COMPILING is followed by one
	 * COMPILED, so the caller may report progress in between. */
	void (*note)(void *arg, int kind, const char *msg);
	void *arg;
};

/* The compile's inputs, in order: the key is the SHA-256 of a label, the
 * library's hs_version(), the platform hs_populate_platform() reports, the
 * mode (block), the number of patterns, and each pattern (length and bytes)
 * with its flags (its id is its position). Returns 0, or -1 when the
 * platform cannot be read or out of memory. */
int detour_hscache_key(const char *const *pats, const unsigned *flags, size_t n,
                       uint8_t key[DETOUR_HSCACHE_KEY_LEN]);

/* key in lower-case hex into hex[DETOUR_HSCACHE_HEX_LEN]; returns hex. */
char *detour_hscache_hex(const uint8_t key[DETOUR_HSCACHE_KEY_LEN],
                         char hex[DETOUR_HSCACHE_HEX_LEN]);

/* Packs an entry: outcome[0..ncand), why[k] (a NUL-terminated message,
 * for each refused k; NULL is an empty one) and the serialised database
 * db[0..dblen). Returns new memory (*len bytes), or NULL when out of memory. */
void *detour_hscache_pack(const uint8_t key[DETOUR_HSCACHE_KEY_LEN], const uint8_t *outcome,
                          const char *const *why, size_t ncand, const void *db, size_t dblen,
                          size_t *len);

/* An unpacked entry: pointers into the buffer it was unpacked from. */
struct detour_hscache_entry {
	const uint8_t *outcome; /* ncand of them */
	const void *db;         /* hs_serialize_database's bytes */
	size_t dblen;
	const uint8_t *why; /* the first refusal's length field; see detour_hscache_why */
};

/* Checks buf[0..len) as an entry for key over ncand candidates: size,
 * magic, key, count, outcomes, messages, lengths and the checksum, in that
 * order. Returns 0 and fills e, or -1 with the first thing wrong in err
 * ("checksum mismatch", ...). The database bytes are still only bytes:
 * the caller hands them to hs_deserialize_database, which checks its own
 * version, platform and CRC. */
int detour_hscache_unpack(const void *buf, size_t len, const uint8_t key[DETOUR_HSCACHE_KEY_LEN],
                          size_t ncand, struct detour_hscache_entry *e, char *err, size_t cap);

/* The next refusal message of a checked entry: *at starts at e->why; each
 * call returns the message's bytes (*n of them, not NUL-terminated) and
 * moves *at past it. Call it once per REFUSED outcome, in order. */
const char *detour_hscache_why(const uint8_t **at, size_t *n);

#endif
