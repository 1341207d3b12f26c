/* jwks_source.c: a JWKS from a file or URL, cached and refreshed (issue 8, "keys from a
 * JWKS file or URL (cached, refreshed)").
 *
 * Divisions: 1. location rules  2. fetching (libcurl, bounded)  3. the cache
 *
 * Fetches are bounded in size (ENCLOS_JWKS_MAX_SIZE), time (ENCLOS_JWKS_FETCH_TIMEOUT) and
 * protocol (https, or http to loopback only; no redirects), and spaced at least
 * ENCLOS_JWKS_MIN_REFETCH apart so a flood of tokens with unknown kids cannot turn the
 * server into a request amplifier against the identity provider.
 */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include <enclos/buf.h>
#include <enclos/mem.h>
#include <enclos/server_auth.h>

#include "server_int.h"

struct enclos_jwks_source {
  pthread_mutex_t lock;
  char *location;
  bool is_url;
  int64_t refresh;
  enclos_jwks *cached;   /* NULL until the first successful load */
  int64_t fetched_at;    /* time of the last attempt */
  bool attempted;
  bool invalidated;
  uint64_t loads;
};

/* 1. Location rules ---------------------------------------------------------------------- */

static bool starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* http:// only to a loopback host: keys over plain HTTP elsewhere could be swapped in transit. */
static bool loopback_http(const char *url) {
  static const char *hosts[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
  for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
    size_t n = strlen(hosts[i]);
    if (strncmp(url, hosts[i], n) == 0 && (url[n] == ':' || url[n] == '/' || url[n] == '\0'))
      return true;
  }
  return false;
}

enclos_err enclos_jwks_source_new(const char *location, int64_t refresh,
                                  enclos_jwks_source **out) {
  ENCLOS_ENSURE_REF(location);
  ENCLOS_ENSURE_REF(out);
  ENCLOS_ENSUREF(location[0] != '\0', ENCLOS_E_INVAL, "empty JWKS location");
  ENCLOS_ENSUREF(refresh >= 0, ENCLOS_E_INVAL, "negative JWKS refresh interval");
  bool url = strstr(location, "://") != NULL;
  if (url)
    ENCLOS_ENSUREF(starts_with(location, "https://") || loopback_http(location), ENCLOS_E_POLICY,
                   "JWKS URL must be https:// (http:// only to loopback): %s", location);
  enclos_jwks_source *s = enclos_calloc(1, sizeof(*s));
  ENCLOS_ENSUREF(s != NULL, ENCLOS_E_NOMEM, "JWKS source");
  s->location = enclos_strdup(location);
  if (!s->location) {
    enclos_free(s);
    ENCLOS_FAILF(ENCLOS_E_NOMEM, "JWKS source");
  }
  pthread_mutex_init(&s->lock, NULL);
  s->is_url = url;
  s->refresh = refresh ? refresh : ENCLOS_JWKS_DEFAULT_REFRESH;
  *out = s;
  return ENCLOS_OK;
}

void enclos_jwks_source_free(enclos_jwks_source *src) {
  if (!src) return;
  enclos_jwks_free(src->cached);
  pthread_mutex_destroy(&src->lock);
  enclos_free(src->location);
  enclos_free(src);
}

/* 2. Fetching ------------------------------------------------------------------------------- */

typedef struct sink {
  enclos_buf buf;
  bool too_big;
} sink;

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg) {
  sink *k = arg;
  size_t n = size * nmemb;
  if (k->buf.len + n > ENCLOS_JWKS_MAX_SIZE) {
    k->too_big = true;
    return 0; /* aborts the transfer */
  }
  return enclos_buf_append(&k->buf, data, n) == ENCLOS_OK ? n : 0;
}

static void curl_init_once(void) { (void)curl_global_init(CURL_GLOBAL_DEFAULT); }

static enclos_err fetch_url(const char *url, enclos_jwks **out) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  (void)pthread_once(&once, curl_init_once);
  CURL *c = curl_easy_init();
  ENCLOS_ENSUREF(c != NULL, ENCLOS_E_NOMEM, "curl_easy_init");
  sink k = {ENCLOS_BUF_INIT, false};
  long status = 0;
  enclos_err rc = ENCLOS_OK;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ENCLOS_JWKS_FETCH_TIMEOUT);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ENCLOS_JWKS_MAX_SIZE);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "enclos-jwks/1");
  CURLcode cr = curl_easy_perform(c);
  if (k.too_big || cr == CURLE_FILESIZE_EXCEEDED)
    ENCLOS_GUARD_FAILF(ENCLOS_E_LIMIT, "JWKS at %s is larger than %d bytes", url,
                       ENCLOS_JWKS_MAX_SIZE);
  ENCLOS_GUARD_ENSUREF(cr == CURLE_OK, ENCLOS_E_IO, "fetching JWKS %s: %s", url,
                       curl_easy_strerror(cr));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  ENCLOS_GUARD_ENSUREF(status == 200, ENCLOS_E_IO, "fetching JWKS %s: HTTP status %ld", url,
                       status);
  rc = enclos_jwks_parse(k.buf.data, k.buf.len, out);
cleanup:
  curl_easy_cleanup(c);
  enclos_buf_free(&k.buf);
  return rc;
}

/* 3. The cache ---------------------------------------------------------------------------------- */

enclos_err enclos_jwks_source_get(enclos_jwks_source *src, int64_t now, enclos_jwks **out) {
  ENCLOS_ENSURE_REF(src);
  ENCLOS_ENSURE_REF(out);
  *out = NULL;
  pthread_mutex_lock(&src->lock);
  enclos_err rc = ENCLOS_OK;
  int64_t age = now - src->fetched_at;
  bool due = !src->attempted || (src->cached == NULL && age >= ENCLOS_JWKS_MIN_REFETCH) ||
             age >= src->refresh || age < 0 ||
             (src->invalidated && age >= ENCLOS_JWKS_MIN_REFETCH);
  if (due) {
    enclos_jwks *fresh = NULL;
    src->attempted = true;
    src->fetched_at = now;
    src->invalidated = false;
    rc = src->is_url ? fetch_url(src->location, &fresh)
                     : enclos_jwks_load_file(src->location, &fresh);
    if (rc == ENCLOS_OK) {
      enclos_jwks_free(src->cached);
      src->cached = fresh;
      src->loads++;
    }
  }
  if (src->cached) {
    *out = enclos_jwks_ref(src->cached);
    rc = ENCLOS_OK; /* a failed refresh keeps serving the last good set */
  } else if (rc == ENCLOS_OK) {
    rc = enclos_err_set(ENCLOS_E_AGAIN, __FILE__, __LINE__,
                        "no JWKS loaded yet from %s (retrying every %d s)", src->location,
                        ENCLOS_JWKS_MIN_REFETCH);
  }
  pthread_mutex_unlock(&src->lock);
  return rc;
}

void enclos_jwks_source_invalidate(enclos_jwks_source *src) {
  if (!src) return;
  pthread_mutex_lock(&src->lock);
  src->invalidated = true;
  pthread_mutex_unlock(&src->lock);
}

uint64_t enclos_jwks_source_loads(enclos_jwks_source *src) {
  if (!src) return 0;
  pthread_mutex_lock(&src->lock);
  uint64_t n = src->loads;
  pthread_mutex_unlock(&src->lock);
  return n;
}
