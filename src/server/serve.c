/* serve.c: the network half of `enclos serve` (docs/server.md).
 *
 * One libevent loop per worker thread, all polling one non-blocking listening socket. A
 * connection is a small state machine driven by readiness events:
 *   HANDSHAKE -> READ -> (BUSY on a pool thread) -> WRITE -> READ (keep-alive) ... -> closed
 * TLS runs non-blocking (tls.h); the HTTP/1.1 parser is incremental over one input buffer per
 * connection, reused across keep-alive requests. Only one request is in progress per
 * connection: reading stops until its response is written, so pipelined requests wait in the
 * buffer and are answered in order (RFC 9112 §9.3.2); each is resumed from the event loop,
 * never by recursion.
 *
 * Requests that may block (app calls, management, JWT checks, fresh evidence) run on a
 * bounded pool of call threads; the connection is parked (no events) until the pool hands it
 * back through the worker's eventfd. A full queue answers 503 at once.
 *
 * Timeouts: handshake (accept to finished handshake: closed), request (first byte to
 * complete request: 408), idle (keep-alive wait, and a stalled reader of our response:
 * closed). SIGTERM stops accepting, closes idle connections, lets in-flight requests finish
 * (each answered with Connection: close) within a grace period, then exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include <enclos/log.h>
#include <enclos/mem.h>
#include <enclos/time.h>

#include "server_int.h"

#define MOD "server"
#define IN_CHUNK 16384
#define ACCEPT_BATCH 64
#define GRACE_MS 10000
#define MAINTENANCE_MS 60000

enum { ST_HANDSHAKE, ST_READ, ST_BUSY, ST_WRITE };

struct srv_conn {
  srv_worker *w;
  srv_conn *prev, *next; /* the worker's list */
  srv_conn *done_next;   /* the worker's completion list */
  int fd;
  int state;
  enclos_tls_conn *tls;
  srv_identity *ident; /* keeps the accepting context alive through the handshake */
  struct event *rev, *wev, *tev;
  bool rev_on, wev_on;
  uint8_t *in;
  size_t in_len, in_cap, in_max;
  enclos_http_parser parser;
  size_t consumed;
  bool continue_sent;
  enclos_buf out;
  size_t out_off;
  srv_req_view view;
  uint64_t t_req;
  srv_job job;
  char peer[64];
};

srv_req_view *server__conn_view(srv_conn *c) { return &c->view; }

static void drive(srv_conn *c);
static void do_read(srv_conn *c);
static void do_write(srv_conn *c);

/* ---- Events ------------------------------------------------------------------------------ */

static void set_events(srv_conn *c, bool r, bool w) {
  if (r != c->rev_on) {
    if (r) event_add(c->rev, NULL);
    else event_del(c->rev);
    c->rev_on = r;
  }
  if (w != c->wev_on) {
    if (w) event_add(c->wev, NULL);
    else event_del(c->wev);
    c->wev_on = w;
  }
}

static void want_events(srv_conn *c, int want) {
  set_events(c, want == ENCLOS_TLS_WANT_READ, want == ENCLOS_TLS_WANT_WRITE);
}

static void arm(srv_conn *c, uint32_t ms) {
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  event_add(c->tev, &tv);
}

static void conn_close(srv_conn *c) {
  srv_worker *w = c->w;
  enclos_server *s = w->srv;
  if (c->prev) c->prev->next = c->next;
  else w->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  event_free(c->rev);
  event_free(c->wev);
  event_free(c->tev);
  enclos_tls_conn_free(c->tls); /* sends close_notify when the session is healthy */
  close(c->fd);
  server__ident_unref(c->ident);
  enclos_free(c->in);
  enclos_buf_free(&c->out);
  enclos_free(c);
  atomic_fetch_sub(&s->metrics.conns_open, 1);
  w->nconns--;
  if (w->stopping && w->nconns == 0) event_base_loopexit(w->base, NULL);
}

/* ---- Access log ---------------------------------------------------------------------------- */

static void access_log(srv_conn *c, uint64_t ns) {
  enclos_server *s = c->w->srv;
  if (!s->access_log) return;
  srv_req_view *v = &c->view;
  const enclos_http_request *r = &c->parser.req;
  enclos_buf line = ENCLOS_BUF_INIT;
  char ts[21];
  enclos_time_format(enclos_time_now(), ts);
  const char *sni = c->tls ? enclos_tls_server_name(c->tls) : NULL;
  size_t plen = r->target.len > 512 ? 512 : r->target.len;
  bool ok = enclos_buf_printf(&line, "{\"ts\":\"%s\",\"peer\":\"%s\",\"sni\":\"", ts, c->peer) == ENCLOS_OK &&
            server__json_escape(&line, sni ? sni : "", sni ? strlen(sni) : 0) == ENCLOS_OK &&
            enclos_buf_append_str(&line, "\",\"method\":\"") == ENCLOS_OK &&
            server__json_escape(&line, (const char *)c->in + r->method_text.off,
                                r->method_text.len > 32 ? 32 : r->method_text.len) == ENCLOS_OK &&
            enclos_buf_append_str(&line, "\",\"target\":\"") == ENCLOS_OK &&
            server__json_escape(&line, (const char *)c->in + r->target.off, plen) == ENCLOS_OK &&
            enclos_buf_printf(&line, "\",\"route\":\"%s\",\"status\":%d,\"bytes\":%zu,\"us\":%llu",
                              enclos_route_name(v->route.id), v->status, c->out.len,
                              (unsigned long long)(ns / 1000)) == ENCLOS_OK &&
            (!v->app[0] || enclos_buf_printf(&line, ",\"app\":\"%s\",\"fuel\":%llu", v->app,
                                             (unsigned long long)v->fuel) == ENCLOS_OK) &&
            (!v->sub[0] || (enclos_buf_append_str(&line, ",\"sub\":\"") == ENCLOS_OK &&
                            server__json_escape(&line, v->sub, strlen(v->sub)) == ENCLOS_OK &&
                            enclos_buf_append_u8(&line, '"') == ENCLOS_OK)) &&
            enclos_buf_append_str(&line, "}\n") == ENCLOS_OK;
  if (ok) {
    pthread_mutex_lock(&s->log_lock);
    fwrite(line.data, 1, line.len, s->access_log);
    fflush(s->access_log);
    pthread_mutex_unlock(&s->log_lock);
  }
  enclos_buf_free(&line);
}

/* ---- Request cycle ------------------------------------------------------------------------- */

static void start_write(srv_conn *c) {
  uint64_t ns = enclos_time_mono_ns() - c->t_req;
  server__metrics_request(&c->w->srv->metrics, c->view.route.id, c->view.status, ns);
  access_log(c, ns);
  if (c->w->stopping) c->view.keep_alive = false;
  c->state = ST_WRITE;
  arm(c, c->w->srv->cfg.idle_timeout_ms);
  do_write(c);
}

/* Answers a refusal that happens before routing (parser errors, queue full). */
static void refuse(srv_conn *c, int status, const char *message, bool close_after) {
  c->view.status = status;
  c->view.keep_alive = c->view.keep_alive && !close_after;
  enclos_buf_reset(&c->out);
  c->out_off = 0;
  enclos_http_out_header h[1] = {{"Retry-After", "1"}};
  if (enclos_http_write_error(&c->out, status, 1, c->view.keep_alive, NULL, message, h,
                              status == 503 ? 1 : 0) != ENCLOS_OK) {
    conn_close(c);
    return;
  }
  start_write(c);
}

static bool enqueue(srv_conn *c) {
  enclos_server *s = c->w->srv;
  pthread_mutex_lock(&s->q_lock);
  if (s->q_len >= s->cfg.max_queue || s->q_stop) {
    pthread_mutex_unlock(&s->q_lock);
    return false;
  }
  c->job.conn = c;
  c->job.next = NULL;
  if (s->q_tail) s->q_tail->next = &c->job;
  else s->q_head = &c->job;
  s->q_tail = &c->job;
  s->q_len++;
  pthread_cond_signal(&s->q_cond);
  pthread_mutex_unlock(&s->q_lock);
  return true;
}

static void handle_request(srv_conn *c) {
  c->state = ST_BUSY;
  event_del(c->tev);
  set_events(c, false, false);
  c->t_req = enclos_time_mono_ns();
  srv_req_view *v = &c->view;
  memset(v, 0, sizeof(*v));
  v->buf = c->in;
  v->req = &c->parser.req;
  v->out = &c->out;
  v->tls = c->tls;
  v->srv = c->w->srv;
  v->keep_alive = c->parser.req.keep_alive && !c->w->stopping;
  enclos_buf_reset(&c->out);
  c->out_off = 0;
  if (!server__dispatch(c)) {
    start_write(c);
    return;
  }
  if (!enqueue(c)) {
    atomic_fetch_add(&c->w->srv->metrics.queue_full, 1);
    refuse(c, 503, "the server is at capacity: too many app calls waiting; retry later", false);
  }
}

/* Parses what is buffered: true when a request was taken over (answered, queued or the
 * connection closed), false when more bytes are needed. */
static bool try_parse(srv_conn *c) {
  size_t consumed = 0;
  enclos_err rc = enclos_http_parse(&c->parser, c->in, c->in_len, &consumed);
  if (rc == ENCLOS_E_AGAIN) {
    if (c->parser.req.headers_complete && c->parser.req.expect_continue && !c->continue_sent) {
      /* RFC 9110 §10.1.1: invite the body; it goes out ahead of the final response. */
      c->continue_sent = true;
      if (enclos_http_write_continue(&c->out) == ENCLOS_OK) {
        size_t wrote;
        int want;
        if (enclos_tls_write_nb(c->tls, c->out.data, c->out.len, &wrote, &want) == ENCLOS_OK && wrote == c->out.len)
          enclos_buf_reset(&c->out);
        else
          enclos_buf_reset(&c->out); /* the client sends the body after its own wait anyway */
      }
    }
    return false;
  }
  if (rc != ENCLOS_OK) {
    int status = enclos_http_parser_status(&c->parser);
    atomic_fetch_add(&c->w->srv->metrics.bad_requests, 1);
    c->state = ST_BUSY;
    event_del(c->tev);
    set_events(c, false, false);
    c->t_req = enclos_time_mono_ns();
    memset(&c->view, 0, sizeof(c->view));
    refuse(c, status ? status : 400, enclos_err_detail(), true);
    return true;
  }
  c->consumed = consumed;
  handle_request(c);
  return true;
}

static void do_read(srv_conn *c) {
  enclos_server *s = c->w->srv;
  if (c->in_len > 0 && try_parse(c)) return; /* a pipelined request already buffered */
  for (;;) {
    if (c->in_cap - c->in_len < IN_CHUNK / 4) {
      if (c->in_cap >= c->in_max) {
        /* The parser refuses before this with its own limits; never buffer without bound. */
        memset(&c->view, 0, sizeof(c->view));
        c->state = ST_BUSY;
        set_events(c, false, false);
        c->t_req = enclos_time_mono_ns();
        refuse(c, 413, "request larger than the connection buffer limit", true);
        return;
      }
      size_t ncap = c->in_cap ? c->in_cap * 2 : IN_CHUNK;
      if (ncap > c->in_max) ncap = c->in_max;
      uint8_t *p = enclos_realloc(c->in, ncap);
      if (!p) {
        conn_close(c);
        return;
      }
      c->in = p;
      c->in_cap = ncap;
    }
    size_t got;
    int want;
    bool was_empty = c->in_len == 0;
    enclos_err rc = enclos_tls_read_nb(c->tls, c->in + c->in_len, c->in_cap - c->in_len, &got, &want);
    if (rc == ENCLOS_E_AGAIN) {
      want_events(c, want);
      return;
    }
    if (rc != ENCLOS_OK) {
      conn_close(c); /* peer closed or broke the session: nothing to answer */
      return;
    }
    c->in_len += got;
    if (was_empty) arm(c, s->cfg.request_timeout_ms); /* the request clock starts */
    if (try_parse(c)) return;
  }
}

static void after_response(srv_conn *c) {
  enclos_buf_reset(&c->out);
  c->out_off = 0;
  if (!c->view.keep_alive) {
    conn_close(c);
    return;
  }
  memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
  c->in_len -= c->consumed;
  c->consumed = 0;
  enclos_http_parser_init(&c->parser, &c->w->srv->cfg.http);
  c->continue_sent = false;
  c->state = ST_READ;
  arm(c, c->in_len ? c->w->srv->cfg.request_timeout_ms : c->w->srv->cfg.idle_timeout_ms);
  set_events(c, true, false);
  /* Buffered bytes (pipelining, or plaintext OpenSSL holds) get no readiness event: resume
   * from the loop rather than recursing here. */
  event_active(c->rev, EV_READ, 1);
}

static void do_write(srv_conn *c) {
  while (c->out_off < c->out.len) {
    size_t wrote;
    int want;
    enclos_err rc = enclos_tls_write_nb(c->tls, c->out.data + c->out_off, c->out.len - c->out_off, &wrote, &want);
    if (rc == ENCLOS_E_AGAIN) {
      want_events(c, want);
      return;
    }
    if (rc != ENCLOS_OK) {
      conn_close(c);
      return;
    }
    c->out_off += wrote;
  }
  after_response(c);
}

static void do_handshake(srv_conn *c) {
  int want;
  enclos_err rc = enclos_tls_handshake_step(c->tls, &want);
  if (rc == ENCLOS_E_AGAIN) {
    want_events(c, want);
    return;
  }
  if (rc != ENCLOS_OK) {
    atomic_fetch_add(&c->w->srv->metrics.tls_failures, 1);
    ENCLOS_DEBUG_LOG(MOD, "%s: %s", c->peer, enclos_err_detail());
    conn_close(c);
    return;
  }
  c->state = ST_READ;
  arm(c, c->w->srv->cfg.idle_timeout_ms);
  set_events(c, true, false);
  do_read(c);
}

static void drive(srv_conn *c) {
  switch (c->state) {
  case ST_HANDSHAKE: do_handshake(c); break;
  case ST_READ: do_read(c); break;
  case ST_WRITE: do_write(c); break;
  default: set_events(c, false, false); break; /* parked on a pool thread */
  }
}

static void on_io(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  drive(arg);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  srv_conn *c = arg;
  enclos_server *s = c->w->srv;
  atomic_fetch_add(&s->metrics.timeouts, 1);
  if (c->state == ST_HANDSHAKE) {
    atomic_fetch_add(&s->metrics.tls_failures, 1);
    conn_close(c);
  } else if (c->state == ST_READ && c->in_len > 0) {
    /* RFC 9110 §15.5.9: the request did not arrive in time. */
    c->state = ST_BUSY;
    set_events(c, false, false);
    c->t_req = enclos_time_mono_ns();
    memset(&c->view, 0, sizeof(c->view));
    refuse(c, 408, "the request did not arrive within the request timeout", true);
  } else if (c->state != ST_BUSY) {
    conn_close(c); /* idle keep-alive, or a client not reading its response */
  }
}

/* ---- Accept, completion, stop ---------------------------------------------------------------- */

static void begin_stop(srv_worker *w) {
  if (w->stopping) return;
  w->stopping = true;
  if (w->accept_ev) event_del(w->accept_ev);
  srv_conn *c = w->conns;
  while (c) {
    srv_conn *next = c->next;
    if (c->state == ST_HANDSHAKE || (c->state == ST_READ && c->in_len == 0)) conn_close(c);
    c = next;
  }
  if (w->nconns == 0) {
    event_base_loopexit(w->base, NULL);
  } else {
    struct timeval tv = {.tv_sec = GRACE_MS / 1000, .tv_usec = 0};
    event_base_loopexit(w->base, &tv);
  }
}

static void on_notify(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  srv_worker *w = arg;
  uint64_t v;
  if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN) ENCLOS_WARN_LOG(MOD, "eventfd read: %s", strerror(errno));
  pthread_mutex_lock(&w->done_lock);
  srv_conn *list = w->done_head;
  w->done_head = NULL;
  pthread_mutex_unlock(&w->done_lock);
  while (list) {
    srv_conn *c = list;
    list = c->done_next;
    start_write(c);
  }
  if (atomic_load(&w->srv->stop)) begin_stop(w);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg) {
  (void)what;
  srv_worker *w = arg;
  enclos_server *s = w->srv;
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) ENCLOS_WARN_LOG(MOD, "accept: %s", strerror(errno));
      return;
    }
    atomic_fetch_add(&s->metrics.conns_total, 1);
    if (atomic_load(&s->metrics.conns_open) >= s->cfg.max_connections || w->stopping) {
      atomic_fetch_add(&s->metrics.conns_rejected, 1);
      close(fd);
      continue;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    srv_conn *c = enclos_calloc(1, sizeof(*c));
    if (c) {
      c->ident = server__runtime_ident(s);
      c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_io, c);
      c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_io, c);
      c->tev = evtimer_new(w->base, on_timeout, c);
    }
    if (!c || !c->rev || !c->wev || !c->tev || !c->ident ||
        enclos_tls_server_conn(c->ident->ctx, fd, &c->tls) != ENCLOS_OK) {
      ENCLOS_WARN_LOG(MOD, "cannot set up a connection: %s", enclos_err_detail());
      if (c) {
        if (c->rev) event_free(c->rev);
        if (c->wev) event_free(c->wev);
        if (c->tev) event_free(c->tev);
        server__ident_unref(c->ident);
        enclos_free(c);
      }
      close(fd);
      continue;
    }
    c->w = w;
    c->fd = fd;
    c->in_max = s->cfg.http.max_request_line + s->cfg.http.max_header_section + s->cfg.http.max_trailer_section +
                (size_t)s->cfg.http.max_body * 2 + 65536; /* chunked framing can double a body */
    char host[INET6_ADDRSTRLEN] = "?", serv[8] = "?";
    (void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
                      NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(c->peer, sizeof(c->peer), "%s:%s", host, serv);
    enclos_http_parser_init(&c->parser, &s->cfg.http);
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add(&s->metrics.conns_open, 1);
    c->state = ST_HANDSHAKE;
    arm(c, s->cfg.handshake_timeout_ms);
    do_handshake(c);
  }
}

/* ---- Pool ---------------------------------------------------------------------------------- */

static void *pool_main(void *arg) {
  enclos_server *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->q_lock);
    while (!s->q_head && !s->q_stop) pthread_cond_wait(&s->q_cond, &s->q_lock);
    srv_job *j = s->q_head;
    if (!j) {
      pthread_mutex_unlock(&s->q_lock);
      return NULL;
    }
    s->q_head = j->next;
    if (!s->q_head) s->q_tail = NULL;
    s->q_len--;
    pthread_mutex_unlock(&s->q_lock);
    srv_conn *c = j->conn;
    server__run_job(c);
    srv_worker *w = c->w;
    pthread_mutex_lock(&w->done_lock);
    c->done_next = w->done_head;
    w->done_head = c;
    pthread_mutex_unlock(&w->done_lock);
    uint64_t one = 1;
    if (write(w->notify_fd, &one, sizeof(one)) < 0) ENCLOS_WARN_LOG(MOD, "eventfd write: %s", strerror(errno));
  }
}

static void *worker_main(void *arg) {
  srv_worker *w = arg;
  event_base_dispatch(w->base);
  return NULL;
}

/* ---- Lifecycle ------------------------------------------------------------------------------ */

static enclos_err bind_listen(enclos_server *s) {
  char host[256], port[16];
  const char *l = s->listen, *colon = strrchr(l, ':');
  ENCLOS_ENSUREF(colon != NULL && colon != l, ENCLOS_E_INVAL, "listen address '%s' is not HOST:PORT", l);
  size_t hl = (size_t)(colon - l);
  if (l[0] == '[' && hl >= 2 && l[hl - 1] == ']') {
    l++;
    hl -= 2;
  }
  ENCLOS_ENSUREF(hl < sizeof(host) && strlen(colon + 1) < sizeof(port) && colon[1], ENCLOS_E_INVAL,
                 "listen address '%s' is not HOST:PORT", s->listen);
  memcpy(host, l, hl);
  host[hl] = '\0';
  snprintf(port, sizeof(port), "%s", colon + 1);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                  *res = NULL;
  int gr = getaddrinfo(host, port, &hints, &res);
  ENCLOS_ENSUREF(gr == 0, ENCLOS_E_INVAL, "listen address '%s': %s", s->listen, gai_strerror(gr));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(fd, res->ai_addr, res->ai_addrlen) == 0 && listen(fd, 4096) == 0;
  int err = errno;
  freeaddrinfo(res);
  if (!ok) {
    if (fd >= 0) close(fd);
    ENCLOS_FAILF(ENCLOS_E_IO, "cannot listen on %s: %s", s->listen, strerror(err));
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  (void)getsockname(fd, (struct sockaddr *)&ss, &sl);
  s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
  s->listen_fd = fd;
  return ENCLOS_OK;
}

static char *dupstr(const char *s) { return s ? enclos_memdup(s, strlen(s) + 1) : NULL; }

static unsigned ncpu(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static enclos_err load_file(const char *path, size_t max, enclos_buf *out) {
  FILE *f = fopen(path, "rb");
  ENCLOS_ENSUREF(f != NULL, ENCLOS_E_IO, "cannot open %s: %s", path, strerror(errno));
  uint8_t chunk[65536];
  size_t n;
  enclos_err rc = ENCLOS_OK;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (out->len + n > max) {
      fclose(f);
      ENCLOS_FAILF(ENCLOS_E_LIMIT, "%s is larger than %zu bytes", path, max);
    }
    rc = enclos_buf_append(out, chunk, n);
    if (rc != ENCLOS_OK) break;
  }
  fclose(f);
  return rc;
}

/* Boot apps from local files (operator-supplied): deployed, replacing a stored app of that name. */
static enclos_err boot_apps(enclos_server *s) {
  enclos_buf wasm = ENCLOS_BUF_INIT, man = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  for (size_t i = 0; i < s->cfg.boot_app_count; i++) {
    const enclos_server_boot_app *b = &s->cfg.boot_apps[i];
    enclos_buf_reset(&wasm);
    enclos_buf_reset(&man);
    ENCLOS_GUARD(load_file(b->wasm_path, s->cfg.http.max_body, &wasm));
    if (b->manifest_path) ENCLOS_GUARD(load_file(b->manifest_path, ENCLOS_SERVER_MAX_MANIFEST, &man));
    srv_app *a = NULL;
    bool replaced = false;
    rc = server__deploy(s, b->name, wasm.data, wasm.len, (const char *)man.data, man.len, true, &a, &replaced);
    if (rc != ENCLOS_OK) ENCLOS_GUARD_FAILF(rc, "app '%s' from %s: %s", b->name, b->wasm_path, enclos_err_detail());
    ENCLOS_INFO_LOG(MOD, "app '%s' deployed from %s (%zu bytes)", b->name, b->wasm_path, wasm.len);
    server__app_unref(a);
  }
cleanup:
  enclos_buf_free(&wasm);
  enclos_buf_free(&man);
  return rc;
}

static void raise_fd_limit(size_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t target = (rlim_t)want + 256;
  if (rl.rlim_cur >= target) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > target ? target : rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);
}

enclos_err enclos_server_new(const enclos_server_config *cfg, enclos_server **out) {
  ENCLOS_ENSURE_REF(cfg);
  ENCLOS_ENSUREF(cfg->data_dir != NULL, ENCLOS_E_INVAL, "a data directory is required (--data DIR)");
  enclos_server *s = enclos_calloc(1, sizeof(*s));
  ENCLOS_ENSURE(s != NULL, ENCLOS_E_NOMEM);
  enclos_err rc = ENCLOS_OK;
  s->cfg = *cfg;
  s->listen_fd = -1;
  s->stop_pipe[0] = s->stop_pipe[1] = -1;
  pthread_mutex_init(&s->tee_lock, NULL);
  pthread_mutex_init(&s->mgmt_lock, NULL);
  pthread_rwlock_init(&s->reg_lock, NULL);
  pthread_mutex_init(&s->q_lock, NULL);
  pthread_cond_init(&s->q_cond, NULL);
  pthread_mutex_init(&s->log_lock, NULL);
  s->data_dir = dupstr(cfg->data_dir);
  s->listen = dupstr(cfg->listen ? cfg->listen : ENCLOS_SERVER_DEFAULT_LISTEN);
  s->domain = dupstr(cfg->domain ? cfg->domain : "localhost");
  ENCLOS_GUARD_ENSUREF(s->data_dir && s->listen && s->domain, ENCLOS_E_NOMEM, "config");
  s->cfg.data_dir = s->data_dir;
  s->cfg.listen = s->listen;
  s->cfg.domain = s->domain;
  if (!s->cfg.max_connections) s->cfg.max_connections = ENCLOS_SERVER_DEFAULT_MAX_CONNECTIONS;
  if (!s->cfg.max_queue) s->cfg.max_queue = ENCLOS_SERVER_DEFAULT_QUEUE;
  if (!s->cfg.idle_timeout_ms) s->cfg.idle_timeout_ms = ENCLOS_SERVER_DEFAULT_IDLE_MS;
  if (!s->cfg.request_timeout_ms) s->cfg.request_timeout_ms = ENCLOS_SERVER_DEFAULT_REQUEST_MS;
  if (!s->cfg.handshake_timeout_ms) s->cfg.handshake_timeout_ms = ENCLOS_SERVER_DEFAULT_HANDSHAKE_MS;
  if (!s->cfg.http.max_request_line) enclos_http_limits_default(&s->cfg.http);
  ENCLOS_GUARD_ENSUREF(s->cfg.jwt_skew >= 0 && s->cfg.jwt_skew <= ENCLOS_JWT_MAX_SKEW, ENCLOS_E_RANGE,
                       "JWT skew %lld s outside 0..%d", (long long)s->cfg.jwt_skew, ENCLOS_JWT_MAX_SKEW);
  s->cfg.boot_app_count = cfg->boot_app_count; /* pointers stay the caller's until run */
  signal(SIGPIPE, SIG_IGN); /* a peer that vanished must not kill the server mid-write */
  raise_fd_limit(s->cfg.max_connections);
  ENCLOS_GUARD_ENSUREF(mkdir(s->data_dir, 0700) == 0 || errno == EEXIST, ENCLOS_E_IO, "cannot create %s: %s",
                       s->data_dir, strerror(errno));
  char path[4096];
  snprintf(path, sizeof(path), "%s/sim", s->data_dir);
  (void)mkdir(path, 0700);
  enclos_tee_config tc = {.sim_state_dir = path};
  ENCLOS_GUARD(enclos_tee_open(s->cfg.tee, &tc, &s->tee));
  if (s->cfg.tee == ENCLOS_TEE_SIM)
    ENCLOS_WARN_LOG(MOD, "TEE backend is SIMULATED: certificates prove nothing about hardware; "
                         "clients must opt in with allow_sim (use a real TEE with --tee)");
  /* Sealed store under the TEE's sealing key, which is bound to the measurement: another
   * build of enclos (or another TEE) cannot open it (store.h, enclos_store_opts_for_tee). */
  snprintf(path, sizeof(path), "%s/store", s->data_dir);
  (void)mkdir(path, 0700);
  enclos_store_opts so = {.create = true};
  ENCLOS_GUARD(enclos_store_opts_for_tee(s->tee, &so));
  rc = enclos_store_open(path, &so, &s->store);
  if (rc == ENCLOS_E_AUTH)
    ENCLOS_GUARD_FAILF(rc, "the sealed store in %s was sealed by another enclos binary or TEE (the sealing key "
                           "is bound to the measurement); use another --data directory",
                       path);
  ENCLOS_GUARD(rc);
  /* Auth. */
  enclos_jwt_config_default(&s->jwt);
  s->jwt.issuer = s->cfg.jwt_issuer;
  s->jwt.audience = s->cfg.jwt_audience;
  s->jwt.roles_claim = s->cfg.roles_claim;
  s->jwt.skew = s->cfg.jwt_skew;
  if (s->cfg.jwks) {
    ENCLOS_GUARD(enclos_jwks_source_new(s->cfg.jwks, 0, &s->jwks));
    enclos_jwks *k = NULL;
    rc = enclos_jwks_source_get(s->jwks, enclos_time_now(), &k);
    if (rc != ENCLOS_OK) ENCLOS_GUARD_FAILF(rc, "JWKS %s: %s", s->cfg.jwks, enclos_err_detail());
    enclos_jwks_free(k);
  }
  if (s->cfg.dev_insecure_admin && !s->jwks)
    ENCLOS_WARN_LOG(MOD, "--dev-insecure-admin: ANYONE who can reach this server can deploy and delete apps");
  if (s->cfg.access_log && s->cfg.access_log[0]) {
    s->access_log = strcmp(s->cfg.access_log, "-") == 0 ? stderr : fopen(s->cfg.access_log, "a");
    ENCLOS_GUARD_ENSUREF(s->access_log != NULL, ENCLOS_E_IO, "cannot open access log %s: %s", s->cfg.access_log,
                         strerror(errno));
  }
  ENCLOS_GUARD(server__pki_boot(s));
  ENCLOS_GUARD(server__registry_boot(s));
  ENCLOS_GUARD(boot_apps(s));
  s->cfg.boot_app_count = 0;
  ENCLOS_GUARD_ENSUREF(pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) == 0, ENCLOS_E_IO, "pipe: %s", strerror(errno));
  ENCLOS_GUARD(bind_listen(s));
  *out = s;
  return ENCLOS_OK;
cleanup:
  enclos_server_free(s);
  return rc;
}

int enclos_server_port(const enclos_server *s) { return s->port; }

void enclos_server_stop(enclos_server *s) {
  atomic_store(&s->stop, true);
  if (s->stop_pipe[1] >= 0) {
    ssize_t r = write(s->stop_pipe[1], "x", 1);
    (void)r;
  }
}

static void write_ready_file(enclos_server *s) {
  if (!s->cfg.ready_file) return;
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", s->cfg.ready_file);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fprintf(f, "%d\n", s->port);
  if (fclose(f) == 0) (void)rename(tmp, s->cfg.ready_file);
}

enclos_err enclos_server_run(enclos_server *s) {
  enclos_err rc = ENCLOS_OK;
  unsigned nw = s->cfg.workers ? s->cfg.workers : ncpu();
  unsigned np = s->cfg.app_threads ? s->cfg.app_threads : ncpu();
  if (nw > ENCLOS_SERVER_MAX_WORKERS) nw = ENCLOS_SERVER_MAX_WORKERS;
  if (np > ENCLOS_SERVER_MAX_APP_THREADS) np = ENCLOS_SERVER_MAX_APP_THREADS;
  s->workers = enclos_calloc(nw, sizeof(*s->workers));
  s->pool = enclos_calloc(np, sizeof(*s->pool));
  ENCLOS_ENSURE(s->workers && s->pool, ENCLOS_E_NOMEM);
  for (unsigned i = 0; i < nw; i++) {
    srv_worker *w = &s->workers[i];
    w->srv = s;
    w->index = i;
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&w->done_lock, NULL);
    w->base = event_base_new();
    ENCLOS_GUARD_ENSUREF(w->base && w->notify_fd >= 0, ENCLOS_E_IO, "event loop %u", i);
    w->accept_ev = event_new(w->base, s->listen_fd, EV_READ | EV_PERSIST, on_accept, w);
    w->notify_ev = event_new(w->base, w->notify_fd, EV_READ | EV_PERSIST, on_notify, w);
    ENCLOS_GUARD_ENSUREF(w->accept_ev && w->notify_ev, ENCLOS_E_NOMEM, "events");
    event_add(w->accept_ev, NULL);
    event_add(w->notify_ev, NULL);
    s->nworkers = i + 1;
  }
  for (unsigned i = 0; i < np; i++) {
    ENCLOS_GUARD_ENSUREF(pthread_create(&s->pool[i], NULL, pool_main, s) == 0, ENCLOS_E_IO, "app thread");
    s->npool = i + 1;
  }
  unsigned started = 0;
  for (unsigned i = 0; i < nw; i++) {
    ENCLOS_GUARD_ENSUREF(pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) == 0, ENCLOS_E_IO,
                         "worker thread");
    started = i + 1;
  }
  s->started = enclos_time_now();
  atomic_store(&s->ready, true);
  ENCLOS_INFO_LOG(MOD, "serving https://%s (port %d): %u event loops, %u app threads", s->listen, s->port, nw, np);
  write_ready_file(s);
  while (!atomic_load(&s->stop)) {
    struct pollfd p = {.fd = s->stop_pipe[0], .events = POLLIN};
    int r = poll(&p, 1, MAINTENANCE_MS);
    if (r == 0) server__renew_identities(s);
  }
  ENCLOS_INFO_LOG(MOD, "stopping: no new connections, finishing requests in flight");
cleanup:
  atomic_store(&s->ready, false);
  atomic_store(&s->stop, true);
  for (unsigned i = 0; i < s->nworkers; i++) {
    uint64_t one = 1;
    if (write(s->workers[i].notify_fd, &one, sizeof(one)) < 0) ENCLOS_WARN_LOG(MOD, "eventfd: %s", strerror(errno));
  }
  for (unsigned i = 0; i < started; i++) pthread_join(s->workers[i].thread, NULL);
  pthread_mutex_lock(&s->q_lock);
  s->q_stop = true;
  pthread_cond_broadcast(&s->q_cond);
  pthread_mutex_unlock(&s->q_lock);
  for (unsigned i = 0; i < s->npool; i++) pthread_join(s->pool[i], NULL);
  s->npool = 0;
  return rc;
}

void enclos_server_free(enclos_server *s) {
  if (!s) return;
  for (unsigned i = 0; i < s->nworkers; i++) {
    srv_worker *w = &s->workers[i];
    w->stopping = false; /* no loop exit requests while tearing down */
    while (w->conns) conn_close(w->conns);
    if (w->accept_ev) event_free(w->accept_ev);
    if (w->notify_ev) event_free(w->notify_ev);
    if (w->base) event_base_free(w->base);
    if (w->notify_fd >= 0) close(w->notify_fd);
    pthread_mutex_destroy(&w->done_lock);
  }
  enclos_free(s->workers);
  enclos_free(s->pool);
  server__registry_free(s);
  enclos_jwks_source_free(s->jwks);
  enclos_store_close(s->store);
  enclos_pkey_free(s->ca_key);
  enclos_x509_free(s->ca_cert);
  enclos_tee_free(s->tee);
  if (s->access_log && s->access_log != stderr) fclose(s->access_log);
  if (s->listen_fd >= 0) close(s->listen_fd);
  if (s->stop_pipe[0] >= 0) close(s->stop_pipe[0]);
  if (s->stop_pipe[1] >= 0) close(s->stop_pipe[1]);
  pthread_mutex_destroy(&s->tee_lock);
  pthread_mutex_destroy(&s->mgmt_lock);
  pthread_rwlock_destroy(&s->reg_lock);
  pthread_mutex_destroy(&s->q_lock);
  pthread_cond_destroy(&s->q_cond);
  pthread_mutex_destroy(&s->log_lock);
  enclos_free(s->data_dir);
  enclos_free(s->listen);
  enclos_free(s->domain);
  enclos_free(s);
}
