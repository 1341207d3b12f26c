/* fetch.c: online collateral (issue 6): Intel PCS API v4 (TCB Info, QE Identity, PCK CRL with their
 * issuer-chain response headers; the root CA CRL) and AMD KDS (VCEK for the report's chip and
 * REPORTED_TCB, and the product's ASK/ARK chain; AMD KDS spec #57230 §4). Responses are cached on
 * disk by URL; a cached Intel item is reused while the verification time is before its nextUpdate,
 * AMD certificates while they are valid. Fetched bytes only ever become collateral: every signature
 * is still checked by the verifier. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/time.h>

#include "verify_int.h"

#define FETCH_MAX_BODY ((size_t)1 << 20)
#define FETCH_MAX_HEADER 16384u

typedef struct fetch_resp {
  enclos_buf body;
  enclos_buf chain; /* URL-decoded issuer chain header */
  const char *chain_header;
} fetch_resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  fetch_resp *r = ud;
  size_t len = sz * n;
  if (r->body.len + len > FETCH_MAX_BODY || enclos_buf_append(&r->body, p, len) != ENCLOS_OK) return 0;
  return len;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  fetch_resp *r = ud;
  size_t len = sz * n, hl = strlen(r->chain_header);
  if (len > FETCH_MAX_HEADER || len <= hl + 1 || strncasecmp(p, r->chain_header, hl) != 0 || p[hl] != ':')
    return len;
  r->chain.len = 0;
  for (size_t i = hl + 1; i < len; i++) {
    char ch = p[i];
    if (ch == '%' && i + 2 < len && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
      ch = (char)(hexval(p[i + 1]) << 4 | hexval(p[i + 2]));
      i += 2;
    } else if (ch == '\r' || ch == '\n' || (ch == ' ' && r->chain.len == 0)) {
      continue;
    }
    if (enclos_buf_append_u8(&r->chain, (uint8_t)ch) != ENCLOS_OK) return 0;
  }
  return len;
}

static enclos_err http_get(const char *url, const enclos_hw_fetch_opts *o, fetch_resp *r) {
  CURL *c = curl_easy_init();
  ENCLOS_ENSUREF(c != NULL, ENCLOS_E_NOMEM, "curl");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_seconds > 0 ? o->timeout_seconds : 20L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  if (r->chain_header != NULL) {
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  }
  curl_easy_setopt(c, CURLOPT_USERAGENT, "enclos-verify/1");
  CURLcode cc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  ENCLOS_ENSUREF(cc == CURLE_OK, ENCLOS_E_IO, "GET %s: %s", url, curl_easy_strerror(cc));
  ENCLOS_ENSUREF(status == 200, ENCLOS_E_IO, "GET %s: HTTP %ld", url, status);
  return ENCLOS_OK;
}

/* Cache files: <dir>/<sha256(url)>.body and .chain. */
static void cache_path(const enclos_hw_fetch_opts *o, const char *url, const char *ext, char *out,
                       size_t cap) {
  uint8_t h[32];
  char hex[65] = "";
  if (enclos_hash(ENCLOS_SHA256, url, strlen(url), h) == ENCLOS_OK) enclos_hex_encode_to(hex, h, 32);
  snprintf(out, cap, "%s/%s.%s", o->cache_dir, hex, ext);
}

static bool read_small(const char *path, enclos_buf *out) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return false;
  char tmp[4096];
  size_t n;
  bool ok = true;
  while (ok && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
    ok = out->len + n <= FETCH_MAX_BODY && enclos_buf_append(out, tmp, n) == ENCLOS_OK;
  fclose(f);
  return ok;
}

static void write_small(const char *path, const enclos_buf *b) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (f == NULL) return;
  bool ok = fwrite(b->data, 1, b->len, f) == b->len;
  ok = fclose(f) == 0 && ok;
  if (ok) rename(tmp, path);
  else remove(tmp);
}

/* Until when a fetched item may be reused: JSON/CRL nextUpdate, certificate notAfter. */
static int64_t fresh_until(const enclos_buf *b) {
  int64_t until = INT64_MIN;
  json_error_t e;
  json_t *j = json_loadb((const char *)b->data, b->len, 0, &e);
  if (j != NULL) {
    json_t *inner = json_object_get(j, "tcbInfo");
    if (inner == NULL) inner = json_object_get(j, "enclaveIdentity");
    const char *nu = json_string_value(json_object_get(inner, "nextUpdate"));
    if (nu != NULL && enclos_time_parse(nu, &until) != ENCLOS_OK) until = INT64_MIN;
    json_decref(j);
    enclos_err_clear();
    return until;
  }
  enclos_x509_crl *crl = NULL;
  if (enclos_x509_crl_parse(b->data, b->len, &crl) == ENCLOS_OK) {
    int64_t tu;
    if (enclos_x509_crl_times(crl, &tu, &until) != ENCLOS_OK) until = INT64_MIN;
    enclos_x509_crl_free(crl);
  } else {
    enclos_x509 **l = NULL;
    size_t n = 0;
    if (enclos_x509_list_parse(b->data, b->len, &l, &n) == ENCLOS_OK) {
      until = INT64_MAX;
      for (size_t i = 0; i < n; i++) {
        int64_t nb, na;
        if (enclos_x509_validity(l[i], &nb, &na) != ENCLOS_OK) na = INT64_MIN;
        if (na < until) until = na;
      }
      enclos_x509_list_free(l, n);
    }
  }
  enclos_err_clear();
  return until;
}

/* Gets \p url (from the cache when still fresh at o->now) and adds body and chain as collateral. */
static enclos_err get_into(enclos_hw_collateral *c, const char *url, const char *chain_header,
                           const enclos_hw_fetch_opts *o) {
  fetch_resp r = {ENCLOS_BUF_INIT, ENCLOS_BUF_INIT, chain_header};
  enclos_err rc = ENCLOS_OK;
  char pb[4200], pc[4200];
  bool cached = false;
  if (o->cache_dir != NULL) {
    cache_path(o, url, "body", pb, sizeof pb);
    cache_path(o, url, "chain", pc, sizeof pc);
    if (read_small(pb, &r.body) && fresh_until(&r.body) > o->now) {
      cached = chain_header == NULL || read_small(pc, &r.chain);
    }
    if (!cached) {
      r.body.len = 0;
      r.chain.len = 0;
    }
  }
  if (!cached) {
    ENCLOS_GUARD(http_get(url, o, &r));
    ENCLOS_GUARD_ENSUREF(chain_header == NULL || r.chain.len > 0, ENCLOS_E_PROTOCOL,
                         "GET %s: no %s header", url, chain_header);
    if (o->cache_dir != NULL) {
      write_small(pb, &r.body);
      if (chain_header != NULL) write_small(pc, &r.chain);
    }
  }
  enclos_coll_kind k;
  ENCLOS_GUARD(enclos_hw_collateral_add(c, r.body.data, r.body.len, &k));
  ENCLOS_GUARD_ENSUREF(k != ENCLOS_COLL_NONE, ENCLOS_E_PROTOCOL, "GET %s: not collateral", url);
  if (chain_header != NULL) ENCLOS_GUARD(enclos_hw_collateral_add(c, r.chain.data, r.chain.len, &k));
cleanup:
  enclos_buf_free(&r.body);
  enclos_buf_free(&r.chain);
  return rc;
}

static enclos_err fetch_intel(enclos_hw_collateral *c, const uint8_t *ev, size_t size,
                              const enclos_hw_fetch_opts *o) {
  enclos_intel_quote q;
  ENCLOS_TRY(enclos_intel_quote_parse(ev, size, &q));
  enclos_x509 **l = NULL;
  size_t n = 0;
  ENCLOS_TRY(enclos_x509_list_parse(q.pck_chain_pem, q.pck_chain_pem_size, &l, &n));
  enclos_err rc = ENCLOS_OK;
  enclos_buf cn = ENCLOS_BUF_INIT;
  ENCLOS_GUARD_ENSUREF(n >= 2, ENCLOS_E_MALFORMED, "quote PCK chain too short");
  const uint8_t *v;
  size_t vn;
  bool crit;
  enclos_pck_ext pck;
  ENCLOS_GUARD(enclos_x509_extension(l[0], "1.2.840.113741.1.13.1", &v, &vn, &crit));
  ENCLOS_GUARD(enclos_pck_ext_parse(v, vn, &pck));
  ENCLOS_GUARD(enclos_x509_subject_attr(l[1], "CN", &cn));
  const char *ca = memmem(cn.data, cn.len, "Platform", 8) != NULL ? "platform" : "processor";
  const char *tee = q.body_type == 1 ? "sgx" : "tdx";
  char fm[13], url[1024];
  enclos_hex_encode_to(fm, pck.fmspc, 6);
  const char *pcs = o->intel_pcs_url ? o->intel_pcs_url : "https://api.trustedservices.intel.com";
  snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s", pcs, tee, fm);
  ENCLOS_GUARD(get_into(c, url, "TCB-Info-Issuer-Chain", o));
  snprintf(url, sizeof url, "%s/%s/certification/v4/qe/identity", pcs, tee);
  ENCLOS_GUARD(get_into(c, url, "SGX-Enclave-Identity-Issuer-Chain", o));
  snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", pcs, ca);
  ENCLOS_GUARD(get_into(c, url, "SGX-PCK-CRL-Issuer-Chain", o));
  ENCLOS_GUARD(get_into(c, o->intel_root_crl_url ? o->intel_root_crl_url
                                                 : "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
                        NULL, o));
cleanup:
  enclos_buf_free(&cn);
  enclos_x509_list_free(l, n);
  return rc;
}

static enclos_err fetch_amd(enclos_hw_collateral *c, const uint8_t *ev, size_t size,
                            const enclos_hw_fetch_opts *o) {
  enclos_snp_report r;
  ENCLOS_TRY(enclos_snp_report_parse(ev, size, &r));
  ENCLOS_ENSUREF(((r.flags >> 2) & 7) == 0, ENCLOS_E_UNSUPPORTED,
                 "only VCEK-signed reports can be fetched (VLEKs are not public)");
  const char *prod = o->amd_product;
  /* v3+: the product the CPUID fields name (the verifier insists on the same one). */
  const char *cpu = verify__snp_cpuid_product(&r);
  if (r.version >= 3 && strcmp(cpu, "unknown") != 0) prod = cpu;
  ENCLOS_ENSUREF(prod != NULL, ENCLOS_E_INVAL, "SNP report v%u: product unknown, set amd_product", r.version);
  bool turin = strcmp(prod, "Turin") == 0;
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(r.reported_tcb >> (8 * i));
  char hw[129], url[1024];
  enclos_hex_encode_to(hw, r.chip_id, turin ? 8 : 64);
  const char *kds = o->amd_kds_url ? o->amd_kds_url : "https://kdsintf.amd.com";
  if (turin)
    snprintf(url, sizeof url, "%s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", kds,
             prod, hw, b[0], b[1], b[2], b[3], b[7]);
  else
    snprintf(url, sizeof url, "%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", kds, prod, hw,
             b[0], b[1], b[6], b[7]);
  ENCLOS_TRY(get_into(c, url, NULL, o));
  snprintf(url, sizeof url, "%s/vcek/v1/%s/cert_chain", kds, prod);
  ENCLOS_TRY(get_into(c, url, NULL, o));
  /* The ARK-signed product CRL (KDS /vcek/v1/{product}/crl), so that verification step 7 (ASK
   * revocation, snp.c check_amd_crl) runs instead of being skipped; missing, the fetch fails as
   * Intel's root CRL does. */
  snprintf(url, sizeof url, "%s/vcek/v1/%s/crl", kds, prod);
  return get_into(c, url, NULL, o);
}

enclos_err enclos_hw_collateral_fetch(enclos_hw_collateral *c, const void *evidence, size_t size,
                                      const enclos_hw_fetch_opts *o) {
  ENCLOS_ENSUREF(c != NULL && evidence != NULL && o != NULL, ENCLOS_E_INVAL, "fetch: NULL argument");
  if (o->cache_dir != NULL) mkdir(o->cache_dir, 0700);
  const uint8_t *p = evidence;
  bool intel = size >= 4 && p[0] >= 3 && p[0] <= 5 && p[1] == 0 && p[2] == 2 && p[3] == 0;
  return intel ? fetch_intel(c, p, size, o) : fetch_amd(c, p, size, o);
}
