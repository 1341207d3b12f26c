/* metrics.c: GET /metrics in the Prometheus text exposition format (version 0.0.4):
 * connections, requests by route and status, per-app calls, fuel and traps, and latency
 * histograms per route. Counters are relaxed atomics bumped on the hot path (no locks, no
 * allocation); rendering takes the registry read lock only to walk the apps. */
#include <string.h>

#include "server_int.h"

static const int status_slots[SRV_STATUS_SLOTS - 1] = {100, 200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 411,
                                                       413, 414, 415, 417, 422, 429, 431, 500, 501, 502, 503};
/* Upper bounds in microseconds: 0.5 ms .. 10 s, then +Inf. */
static const uint64_t bucket_us[SRV_HIST_BUCKETS - 1] = {500,    1000,   2500,    5000,    10000,   25000,  50000,
                                                         100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

static size_t slot_of(int status) {
  for (size_t i = 0; i < SRV_STATUS_SLOTS - 1; i++)
    if (status_slots[i] == status) return i;
  return SRV_STATUS_SLOTS - 1; /* any other */
}

void server__metrics_request(srv_metrics *m, enclos_route_id route, int status, uint64_t ns) {
  if ((unsigned)route >= ENCLOS_ROUTE__COUNT) route = ENCLOS_ROUTE_NONE;
  atomic_fetch_add_explicit(&m->req[route][slot_of(status)], 1, memory_order_relaxed);
  size_t b = 0;
  uint64_t us = ns / 1000;
  while (b < SRV_HIST_BUCKETS - 1 && us > bucket_us[b]) b++;
  atomic_fetch_add_explicit(&m->hist[route][b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->hist_sum_ns[route], ns, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->hist_count[route], 1, memory_order_relaxed);
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

enclos_err server__metrics_render(enclos_server *s, enclos_buf *out) {
  srv_metrics *m = &s->metrics;
  ENCLOS_TRY(enclos_buf_printf(out,
                               "# HELP enclos_connections_open Open client connections.\n"
                               "# TYPE enclos_connections_open gauge\nenclos_connections_open %llu\n"
                               "# HELP enclos_connections_total Accepted TCP connections.\n"
                               "# TYPE enclos_connections_total counter\nenclos_connections_total %llu\n"
                               "# HELP enclos_connections_rejected_total Connections closed at accept (limit).\n"
                               "# TYPE enclos_connections_rejected_total counter\nenclos_connections_rejected_total %llu\n"
                               "# HELP enclos_tls_handshake_failures_total Failed or abandoned TLS handshakes.\n"
                               "# TYPE enclos_tls_handshake_failures_total counter\nenclos_tls_handshake_failures_total %llu\n"
                               "# HELP enclos_timeouts_total Connections closed by a timeout.\n"
                               "# TYPE enclos_timeouts_total counter\nenclos_timeouts_total %llu\n"
                               "# HELP enclos_app_queue_full_total App calls refused because the call queue was full.\n"
                               "# TYPE enclos_app_queue_full_total counter\nenclos_app_queue_full_total %llu\n",
                               LOAD(m->conns_open), LOAD(m->conns_total), LOAD(m->conns_rejected),
                               LOAD(m->tls_failures), LOAD(m->timeouts), LOAD(m->queue_full)));
  ENCLOS_TRY(enclos_buf_append_str(out, "# HELP enclos_http_requests_total Requests by route and status.\n"
                                        "# TYPE enclos_http_requests_total counter\n"));
  for (int r = 0; r < ENCLOS_ROUTE__COUNT; r++)
    for (size_t i = 0; i < SRV_STATUS_SLOTS; i++) {
      unsigned long long v = LOAD(m->req[r][i]);
      if (!v) continue;
      if (i < SRV_STATUS_SLOTS - 1)
        ENCLOS_TRY(enclos_buf_printf(out, "enclos_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                     enclos_route_name((enclos_route_id)r), status_slots[i], v));
      else
        ENCLOS_TRY(enclos_buf_printf(out, "enclos_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                                     enclos_route_name((enclos_route_id)r), v));
    }
  ENCLOS_TRY(enclos_buf_append_str(out, "# HELP enclos_http_request_duration_seconds Time from a complete request "
                                        "to its response being queued.\n"
                                        "# TYPE enclos_http_request_duration_seconds histogram\n"));
  for (int r = 0; r < ENCLOS_ROUTE__COUNT; r++) {
    unsigned long long count = LOAD(m->hist_count[r]);
    if (!count) continue;
    const char *rn = enclos_route_name((enclos_route_id)r);
    unsigned long long cum = 0;
    for (size_t b = 0; b < SRV_HIST_BUCKETS; b++) {
      cum += LOAD(m->hist[r][b]);
      if (b < SRV_HIST_BUCKETS - 1)
        ENCLOS_TRY(enclos_buf_printf(out, "enclos_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                                     rn, (double)bucket_us[b] / 1e6, cum));
      else
        ENCLOS_TRY(enclos_buf_printf(out, "enclos_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                                     rn, cum));
    }
    ENCLOS_TRY(enclos_buf_printf(out,
                                 "enclos_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                                 "enclos_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                                 rn, (double)LOAD(m->hist_sum_ns[r]) / 1e9, rn, count));
  }
  ENCLOS_TRY(enclos_buf_append_str(out,
                                   "# HELP enclos_app_calls_total App calls (function and HTTP) by app.\n"
                                   "# TYPE enclos_app_calls_total counter\n"
                                   "# HELP enclos_app_failures_total App calls that did not produce a response.\n"
                                   "# TYPE enclos_app_failures_total counter\n"
                                   "# HELP enclos_app_traps_total Traps, fuel exhaustion and timeouts by app.\n"
                                   "# TYPE enclos_app_traps_total counter\n"
                                   "# HELP enclos_app_fuel_used_total Fuel (instructions) used by app.\n"
                                   "# TYPE enclos_app_fuel_used_total counter\n"));
  enclos_err rc = ENCLOS_OK;
  pthread_rwlock_rdlock(&s->reg_lock);
  for (size_t i = 0; i < s->napps && rc == ENCLOS_OK; i++) {
    const srv_app *a = s->apps[i];
    rc = enclos_buf_printf(out,
                           "enclos_app_calls_total{app=\"%s\"} %llu\nenclos_app_failures_total{app=\"%s\"} %llu\n"
                           "enclos_app_traps_total{app=\"%s\"} %llu\nenclos_app_fuel_used_total{app=\"%s\"} %llu\n",
                           a->name, LOAD(a->calls), a->name, LOAD(a->failures), a->name, LOAD(a->traps), a->name,
                           LOAD(a->fuel));
  }
  size_t napps = s->napps;
  pthread_rwlock_unlock(&s->reg_lock);
  ENCLOS_TRY(rc);
  return enclos_buf_printf(out, "# HELP enclos_apps_deployed Deployed apps.\n# TYPE enclos_apps_deployed gauge\n"
                                "enclos_apps_deployed %zu\n",
                           napps);
}
