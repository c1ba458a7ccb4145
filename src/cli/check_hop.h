/* detour check: one response of a chain, and the end of a chain. No
 * libcurl here. */
#ifndef DETOUR_CLI_CHECK_HOP_H
#define DETOUR_CLI_CHECK_HOP_H

#include "check_util.h"

/* Takes the response to c's last hop (status and reason already set, the
 * header block in c->hbuf, the body in c->body) into c->jar and hsts (NULL:
 * none), fills the hop, adds its findings and applies it to c->req. Returns
 * true when c->req is now the next request to send, false when the chain
 * ends here. */
bool check_response(struct chain *c, struct detour_hsts *hsts);

/* Chain-level findings, once the chain has ended; sets c->redirects and
 * c->final_status. c may have no hop at all (an input URL that does not
 * parse): then the expectation (--expect, CSV, --against) is not checked. */
void check_conclude(struct chain *c);

#endif
