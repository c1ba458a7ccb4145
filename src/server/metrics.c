/* detour server: GET /metrics, see metrics.h. Every series has bounded cardinality: statuses from a
 * fixed list, one series per listener, a fixed set of latency buckets, and
 * the top 10 rules by hits (never one series per rule of a large table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "base/buf.h"
#include "core.h"
#include "detour/rulefile.h"
#include "health.h"
#include "metrics.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"

#define METRICS_MAX (64u << 20) /* a bound no exposition comes near: series are bounded */

static const char *const change_names[CHG_COUNT] = {"add", "delete", "expire", "maintenance",
                                                    "reload"};

/* A label value: backslash, double quote and line feed escaped. */
static void label(struct bbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"') {
			bbuf_putc(b, '\\');
			bbuf_putc(b, *v);
		} else if (*v == '\n') {
			BBUF_LIT(b, "\\n");
		} else {
			bbuf_putc(b, *v);
		}
	}
}

static uint64_t sum_workers(struct server *srv, size_t off)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < srv->pool.n; i++)
		s += atomic_load_explicit((_Atomic uint64_t *)((char *)srv->pool.w[i].cs.st + off),
		                          memory_order_relaxed);
	return s;
}

static void target_row(void *arg, const struct health_target *t)
{
	struct bbuf *b = arg;

	BBUF_LIT(b, "detour_target_up{rule=\"");
	label(b, t->rule);
	BBUF_LIT(b, "\",target=\"");
	label(b, t->url);
	bbuf_putf(b, "\"} %d\n", t->up ? 1 : 0);
}

void metrics_status_counts(struct server *srv, uint64_t *out)
{
	for (unsigned k = 0; k < STATUS_SLOTS; k++)
		out[k] = sum_workers(srv, offsetof(struct wstats, status) + k * sizeof(uint64_t));
}

const char *metrics_status_name(unsigned k, char *buf, size_t cap)
{
	if (k < STATUS_SLOTS - 1)
		snprintf(buf, cap, "%d", stats_statuses[k]);
	else
		snprintf(buf, cap, "other");
	return buf;
}

void metrics_top_head(struct bbuf *b)
{
	bbuf_putf(b,
	          "# HELP detour_rule_hits_top Hits of the %d most hit rules (as of the last "
	          "flush).\n# TYPE detour_rule_hits_top gauge\n",
	          METRICS_TOP_RULES);
}

void metrics_top_row(void *arg, const char *id, int64_t hits, int64_t last)
{
	struct bbuf *b = arg;

	BBUF_LIT(b, "detour_rule_hits_top{id=\"");
	label(b, id);
	bbuf_putf(b, "\"} %lld\n", (long long)hits);
}

char *metrics_render(struct server *srv, void (*more)(void *arg, struct bbuf *b), void *arg,
                     size_t *len)
{
	struct bbuf b;
	/* By enum detour_src_kind: every rule is one of them, so the series
	 * sum to the rules served. */
	static const char *const kinds[4] = {"exact", "splat", "pattern", "regex"};

	bbuf_init(&b, METRICS_MAX);

	bbuf_putf(&b,
	          "# HELP detour_build_info The running version.\n# TYPE detour_build_info gauge\n"
	          "detour_build_info{version=\"%s\"} 1\n",
	          DETOUR_VERSION);

	bbuf_putf(&b, "# HELP detour_requests_total Requests answered, by status.\n"
	              "# TYPE detour_requests_total counter\n");
	for (unsigned k = 0; k < STATUS_SLOTS; k++) {
		uint64_t v =
		        sum_workers(srv, offsetof(struct wstats, status) + k * sizeof(uint64_t));
		if (k < STATUS_SLOTS - 1)
			bbuf_putf(&b, "detour_requests_total{status=\"%d\"} %llu\n",
			          stats_statuses[k], (unsigned long long)v);
		else
			bbuf_putf(&b, "detour_requests_total{status=\"other\"} %llu\n",
			          (unsigned long long)v);
	}

	/* By protocol: HTTP/2 streams counted apart (h2.c), HTTP/1.x the rest. */
	uint64_t all = 0, h2 = sum_workers(srv, offsetof(struct wstats, h2_requests));
	for (unsigned k = 0; k < STATUS_SLOTS; k++)
		all += sum_workers(srv, offsetof(struct wstats, status) + k * sizeof(uint64_t));
	bbuf_putf(&b,
	          "# HELP detour_protocol_requests_total Requests answered, by protocol.\n"
	          "# TYPE detour_protocol_requests_total counter\n"
	          "detour_protocol_requests_total{protocol=\"HTTP/1.x\"} %llu\n"
	          "detour_protocol_requests_total{protocol=\"HTTP/2\"} %llu\n",
	          (unsigned long long)(all > h2 ? all - h2 : 0), (unsigned long long)h2);

	bbuf_putf(&b, "# HELP detour_listener_requests_total Requests answered, by listener.\n"
	              "# TYPE detour_listener_requests_total counter\n");
	for (unsigned l = 0; l < srv->conf.nlisten; l++) {
		const struct detour_listen *ln = &srv->conf.listen[l];
		uint64_t v =
		        sum_workers(srv, offsetof(struct wstats, listener) + l * sizeof(uint64_t));
		bbuf_putf(&b, "detour_listener_requests_total{listener=\"%s%s%s:%u\"} %llu\n",
		          ln->ipv6 ? "[" : "", ln->host, ln->ipv6 ? "]" : "", ln->port,
		          (unsigned long long)v);
	}

	bbuf_putf(&b, "# HELP detour_request_duration_seconds Time from parsing a request to its "
	              "response queued (stats on).\n"
	              "# TYPE detour_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (unsigned k = 0; k < LAT_BUCKETS; k++) {
		cum += sum_workers(srv, offsetof(struct wstats, lat) + k * sizeof(uint64_t));
		if (k < LAT_BUCKETS - 1)
			bbuf_putf(&b, "detour_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			          stats_lat_bounds_us[k] / 1e6, (unsigned long long)cum);
		else
			bbuf_putf(&b, "detour_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			          (unsigned long long)cum);
	}
	bbuf_putf(&b, "detour_request_duration_seconds_sum %.6f\n",
	          sum_workers(srv, offsetof(struct wstats, lat_sum_us)) / 1e6);
	bbuf_putf(&b, "detour_request_duration_seconds_count %llu\n",
	          (unsigned long long)sum_workers(srv, offsetof(struct wstats, lat_count)));

	uint64_t conns = 0;
	for (unsigned i = 0; i < srv->pool.n; i++)
		conns += atomic_load_explicit(&srv->pool.w[i].cs.st->conns, memory_order_relaxed);
	bbuf_putf(&b,
	          "# HELP detour_open_connections Client connections open now.\n"
	          "# TYPE detour_open_connections gauge\ndetour_open_connections %llu\n",
	          (unsigned long long)conns);

	bbuf_putf(
	        &b,
	        "# HELP detour_connection_buffer_bytes Bytes by which connection buffers grew "
	        "beyond their initial sizes (long heads, answers waiting for slow readers); "
	        "limit buffer-memory bounds it per worker.\n"
	        "# TYPE detour_connection_buffer_bytes gauge\ndetour_connection_buffer_bytes %llu\n"
	        "# HELP detour_connections_shed_total Connections closed to keep the server "
	        "within a bound, by reason (memory: past the hard cap, twice limit "
	        "buffer-memory).\n"
	        "# TYPE detour_connections_shed_total counter\n"
	        "detour_connections_shed_total{reason=\"memory\"} %llu\n"
	        "# HELP detour_connections_paused_total Times a connection was paused (not read "
	        "from, no new request parsed until its output drained) to keep the server within "
	        "a bound, by reason (memory: past limit buffer-memory).\n"
	        "# TYPE detour_connections_paused_total counter\n"
	        "detour_connections_paused_total{reason=\"memory\"} %llu\n"
	        "# HELP detour_connections_paused Connections paused now.\n"
	        "# TYPE detour_connections_paused gauge\ndetour_connections_paused %llu\n",
	        (unsigned long long)sum_workers(srv, offsetof(struct wstats, buf_held)),
	        (unsigned long long)sum_workers(srv, offsetof(struct wstats, shed_memory)),
	        (unsigned long long)sum_workers(srv, offsetof(struct wstats, paused_memory)),
	        (unsigned long long)sum_workers(srv, offsetof(struct wstats, paused)));

	uint64_t dropped = 0;
	for (unsigned i = 0; i < srv->pool.n; i++)
		dropped +=
		        atomic_load_explicit(&srv->pool.w[i].cs.alog.dropped, memory_order_relaxed);
	bbuf_putf(&b,
	          "# HELP detour_accesslog_dropped_total Access log lines lost to failed writes "
	          "(a full disk).\n"
	          "# TYPE detour_accesslog_dropped_total counter\n"
	          "detour_accesslog_dropped_total %llu\n",
	          (unsigned long long)dropped);

	if (srv->tls) {
		uint64_t ok, failed;
		tls_ctx_counts(srv->tls, &ok, &failed);
		bbuf_putf(
		        &b,
		        "# HELP detour_tls_handshakes_total TLS handshakes, by result (error: the "
		        "connection closed before its handshake completed).\n"
		        "# TYPE detour_tls_handshakes_total counter\n"
		        "detour_tls_handshakes_total{result=\"ok\"} %llu\n"
		        "detour_tls_handshakes_total{result=\"error\"} %llu\n",
		        (unsigned long long)ok, (unsigned long long)failed);
	}
	static const char *const proxy_reasons[PROXY_ERR_COUNT] = {"invalid", "incomplete",
	                                                           "untrusted"};
	bbuf_putf(&b, "# HELP detour_proxy_protocol_errors_total Connections to proxy-protocol "
	              "listeners closed without a valid PROXY header from a trusted peer, by "
	              "reason.\n# TYPE detour_proxy_protocol_errors_total counter\n");
	for (unsigned k = 0; k < PROXY_ERR_COUNT; k++)
		bbuf_putf(
		        &b, "detour_proxy_protocol_errors_total{reason=\"%s\"} %llu\n",
		        proxy_reasons[k],
		        (unsigned long long)sum_workers(srv, offsetof(struct wstats, proxy_errors) +
		                                                     k * sizeof(uint64_t)));

	bbuf_putf(&b,
	          "# HELP detour_reloads_total Reloads (SIGHUP or POST /reload), by result.\n"
	          "# TYPE detour_reloads_total counter\n"
	          "detour_reloads_total{result=\"ok\"} %llu\n"
	          "detour_reloads_total{result=\"error\"} %llu\n",
	          (unsigned long long)atomic_load(&srv->counters.reloads_ok),
	          (unsigned long long)atomic_load(&srv->counters.reloads_failed));

	bbuf_putf(&b, "# HELP detour_rules Rules served, by origin and kind.\n# TYPE detour_rules "
	              "gauge\n");
	pthread_mutex_lock(&srv->pub.file_lock);
	const struct served *f = atomic_load(&srv->pub.file);
	for (unsigned k = 0; k < 4; k++)
		bbuf_putf(&b, "detour_rules{origin=\"file\",kind=\"%s\"} %u\n", kinds[k],
		          f->kinds[k]);
	pthread_mutex_unlock(&srv->pub.file_lock);
	const struct served *api = atomic_load(&srv->pub.api); /* only this thread replaces it */
	for (unsigned k = 0; k < 4; k++)
		bbuf_putf(&b, "detour_rules{origin=\"api\",kind=\"%s\"} %u\n", kinds[k],
		          api ? api->kinds[k] : 0);
	bbuf_putf(&b,
	          "# HELP detour_maintenance 1 while maintenance mode is on.\n"
	          "# TYPE detour_maintenance gauge\ndetour_maintenance %d\n",
	          atomic_load(&srv->pub.maint) != NULL ? 1 : 0); /* maint.c: NULL while off */

	/* One series per health-checked target: the rules files bound them
	 * (API rules cannot carry health=). */
	bbuf_putf(&b, "# HELP detour_target_up 1 while a health-checked target of a weighted "
	              "group is up, by rule id and the URL probed.\n"
	              "# TYPE detour_target_up gauge\n");
	health_targets(srv->health, target_row, &b);

	bbuf_putf(&b, "# HELP detour_api_changes_total Changes made through the admin API (and "
	              "expiries), by action.\n# TYPE detour_api_changes_total counter\n");
	for (unsigned k = 0; k < CHG_COUNT; k++)
		bbuf_putf(&b, "detour_api_changes_total{action=\"%s\"} %llu\n", change_names[k],
		          (unsigned long long)atomic_load(&srv->counters.changes[k]));
	bbuf_putf(&b,
	          "# HELP detour_audit_pruned_total Audit records deleted by audit-keep (age or "
	          "count) by this node.\n# TYPE detour_audit_pruned_total counter\n"
	          "detour_audit_pruned_total %llu\n",
	          (unsigned long long)atomic_load(&srv->counters.audit_pruned));

	if (more) /* the store's: the most hit rules, the fleet's series */
		more(arg, &b);
	acme_metrics(srv->acme, &b); /* no-op without ACME */
	return bbuf_take(&b, len);   /* NULL when out of memory */
}
