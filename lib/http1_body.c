/* detour: the streaming body skipper of an HTTP/1.1 request (RFC 9112 §6.3,
 * §7.1): Content-Length or chunked framing, skipped in sync. The contract
 * is in include/detour/http1_body.h; docs/internals/http1.md. */
#include "detour/http1_body.h"
#include "http1_int.h"

/* ---- the body skipper (RFC 9112 §6.3, §7.1) ---------------------------- */

enum body_state {
	B_DONE = 0,
	B_LENGTH,        /* Content-Length bytes left in remaining */
	B_SIZE0,         /* chunk-size: first HEXDIG */
	B_SIZE,          /* chunk-size: more HEXDIG */
	B_SIZE_BWS,      /* BWS after the size or an ext value, before ';' */
	B_EXT_NAME0,     /* after ';' : BWS, then chunk-ext-name */
	B_EXT_NAME,      /* in chunk-ext-name */
	B_EXT_NAME_BWS,  /* BWS after the name: '=' or ';' */
	B_EXT_VAL0,      /* after '=': BWS, then token or quoted-string */
	B_EXT_TOKEN,     /* in a token value */
	B_EXT_QS,        /* in a quoted-string value */
	B_EXT_QS_ESC,    /* after '\' in a quoted-string */
	B_EXT_QS_END,    /* after the closing '"' */
	B_SIZE_LF,       /* CR seen on the size line */
	B_DATA,          /* chunk-data, remaining bytes left */
	B_DATA_CR,       /* CRLF after chunk-data */
	B_DATA_LF,       /* */
	B_TRAILER,       /* start of a trailer line (or the final CRLF) */
	B_TRAILER_NAME,  /* in a field name */
	B_TRAILER_VALUE, /* after ':' */
	B_TRAILER_LF,    /* CR seen at the end of a trailer line */
	B_FINAL_LF,      /* CR of the final empty line seen */
	B_ERR_400,
	B_ERR_413,
};

#define CHUNK_LINE_MAX   8192 /* bytes of one chunk-size line, extensions included */
#define TRAILER_MAX      8192 /* bytes of the trailer section, final CRLF included */
#define CHUNK_DIGITS_MAX 16   /* a chunk-size of more HEXDIG than this is refused: 413 */

void detour_http1_body_init(struct detour_http1_body *b, const struct detour_request *req,
                            const struct detour_http1_limits *limits)
{
	struct detour_http1_limits defaults;
	if (limits == NULL) {
		detour_http1_limits_default(&defaults);
		limits = &defaults;
	}
	b->total = 0;
	b->remaining = 0;
	b->line_len = 0;
	b->max_body = limits->max_body;
	if (req->chunked)
		b->state = B_SIZE0;
	else if (req->has_content_length && req->content_length > 0) {
		b->state = B_LENGTH;
		b->remaining = req->content_length;
	} else
		b->state = B_DONE;
}

bool detour_http1_body_done(const struct detour_http1_body *b)
{
	return b->state == B_DONE;
}

detour_err detour_http1_body_skip(struct detour_http1_body *b, const char *buf, size_t len,
                                  size_t *consumed, int *status)
{
	cp start = (cp)buf, p = start, end = start + len;
	int state = b->state;

	*consumed = 0;
	*status = 0;
	switch (state) {
	case B_DONE:
		return DETOUR_OK;
	case B_ERR_400:
		REFUSE(DETOUR_EINVAL, 400);
	case B_ERR_413:
		REFUSE(DETOUR_ETOOBIG, 413);
	case B_LENGTH:
		if (b->remaining > b->max_body - b->total) {
			b->state = B_ERR_413;
			REFUSE(DETOUR_ETOOBIG, 413);
		}
		break;
	}

	while (p < end) {
		unsigned char c = *p;

		if (state == B_LENGTH || state == B_DATA) {
			uint64_t k = (uint64_t)(end - p);
			if (k > b->remaining)
				k = b->remaining;
			p += k;
			b->remaining -= k;
			b->total += k;
			if (b->remaining == 0) {
				if (state == B_LENGTH) {
					state = B_DONE;
					break;
				}
				state = B_DATA_CR;
			}
			continue;
		}
		p++;
		/* Framing bytes (chunk sizes, extensions, CRLFs, trailers)
		 * count against the body limit like data: otherwise 1 MiB
		 * of data could hide megabytes of extensions. total counts
		 * the byte once it is accepted (below the switch). */
		if (b->total >= b->max_body)
			goto too_big;
		if (state >= B_SIZE0 && state <= B_SIZE_LF) {
			/* One chunk-size line, extensions included, is capped. */
			if (++b->line_len > CHUNK_LINE_MAX)
				goto bad;
		} else if (state >= B_TRAILER && state <= B_FINAL_LF) {
			if (++b->line_len > TRAILER_MAX)
				goto bad;
		}
		switch (state) {
		case B_SIZE0:
		case B_SIZE:
			/* chunk-size = 1*HEXDIG */
			if (http1_cc[c] & CC_HEX) {
				unsigned d = IS_DIGIT(c) ? c - '0' : (c | 0x20) - 'a' + 10;
				/* line_len counts the digits so far */
				if (b->line_len > CHUNK_DIGITS_MAX)
					goto too_big;
				b->remaining = b->remaining * 16 + d;
				if (b->remaining > b->max_body - b->total)
					goto too_big;
				state = B_SIZE;
				break;
			}
			if (state == B_SIZE0)
				goto bad;
			/* fall through */
		case B_SIZE_BWS:
		case B_EXT_QS_END:
		after_ext:
			/* chunk-ext = *( BWS ";" BWS chunk-ext-name
			 *                [ BWS "=" BWS chunk-ext-val ] ) */
			if (c == ';')
				state = B_EXT_NAME0;
			else if (IS_OWS(c))
				state = B_SIZE_BWS;
			else if (c == '\r' && state != B_SIZE_BWS)
				state = B_SIZE_LF;
			else
				goto bad;
			break;
		case B_EXT_NAME0:
			if (http1_cc[c] & CC_TCHAR)
				state = B_EXT_NAME;
			else if (!IS_OWS(c))
				goto bad;
			break;
		case B_EXT_NAME:
			if (http1_cc[c] & CC_TCHAR)
				break;
			if (c == '=')
				state = B_EXT_VAL0;
			else if (IS_OWS(c))
				state = B_EXT_NAME_BWS;
			else if (c == ';')
				state = B_EXT_NAME0;
			else if (c == '\r')
				state = B_SIZE_LF;
			else
				goto bad;
			break;
		case B_EXT_NAME_BWS:
			if (c == '=')
				state = B_EXT_VAL0;
			else if (c == ';')
				state = B_EXT_NAME0;
			else if (!IS_OWS(c))
				goto bad;
			break;
		case B_EXT_VAL0:
			if (http1_cc[c] & CC_TCHAR)
				state = B_EXT_TOKEN;
			else if (c == '"')
				state = B_EXT_QS;
			else if (!IS_OWS(c))
				goto bad;
			break;
		case B_EXT_TOKEN:
			if (http1_cc[c] & CC_TCHAR)
				break;
			state = B_EXT_QS_END;
			goto after_ext;
		case B_EXT_QS:
			/* quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE */
			if (c == '"')
				state = B_EXT_QS_END;
			else if (c == '\\')
				state = B_EXT_QS_ESC;
			else if (!(http1_cc[c] & CC_QDTEXT))
				goto bad;
			break;
		case B_EXT_QS_ESC:
			/* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
			if (!(http1_cc[c] & CC_VALUE))
				goto bad;
			state = B_EXT_QS;
			break;
		case B_SIZE_LF:
			if (c != '\n')
				goto bad;
			b->line_len = 0;
			/* last-chunk = 1*("0") [ chunk-ext ] CRLF */
			state = b->remaining ? B_DATA : B_TRAILER;
			break;
		case B_DATA_CR:
			if (c != '\r')
				goto bad;
			state = B_DATA_LF;
			break;
		case B_DATA_LF:
			if (c != '\n')
				goto bad;
			state = B_SIZE0;
			break;
		case B_TRAILER:
			/* trailer-section = *( field-line CRLF ), same rules as
			 * the header section: no obs-fold, no bare LF. */
			if (c == '\r')
				state = B_FINAL_LF;
			else if (http1_cc[c] & CC_TCHAR)
				state = B_TRAILER_NAME;
			else
				goto bad;
			break;
		case B_TRAILER_NAME:
			if (c == ':')
				state = B_TRAILER_VALUE;
			else if (!(http1_cc[c] & CC_TCHAR))
				goto bad;
			break;
		case B_TRAILER_VALUE:
			if (c == '\r')
				state = B_TRAILER_LF;
			else if (!(http1_cc[c] & CC_VALUE))
				goto bad;
			break;
		case B_TRAILER_LF:
			if (c != '\n')
				goto bad;
			state = B_TRAILER;
			break;
		case B_FINAL_LF:
			if (c != '\n')
				goto bad;
			state = B_DONE;
			break;
		}
		b->total++;
		if (state == B_DONE)
			break;
	}
	b->state = state;
	*consumed = (size_t)(p - start);
	return state == B_DONE ? DETOUR_OK : DETOUR_INCOMPLETE;

bad:
	b->state = B_ERR_400;
	*consumed = (size_t)(p - start) - 1;
	REFUSE(DETOUR_EINVAL, 400);
too_big:
	b->state = B_ERR_413;
	*consumed = (size_t)(p - start) - 1;
	REFUSE(DETOUR_ETOOBIG, 413);
}
