/* collateral.c: collateral recognised by CONTENT, not file name (issue 6): Intel PCS TCB Info and
 * QE Identity response bodies, the dcap-qvl single-JSON bundle, CRLs (DER, PEM, hex) and certificate
 * chains (PEM or DER). Signed JSON keeps the exact received bytes of the inner object, because the
 * signature covers them (Intel PCS API v4, "TCB Info" and "Enclave Identity" sections). */
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/mem.h>

#include "verify_int.h"

struct verify_memo {
  pthread_mutex_t mu;
  uint8_t keys[VERIFY_MEMO_SLOTS][32];
  size_t n, next;
};

enclos_err enclos_hw_collateral_new(enclos_hw_collateral **out) {
  ENCLOS_ENSUREF(out != NULL, ENCLOS_E_INVAL, "collateral: NULL argument");
  *out = enclos_calloc(1, sizeof **out);
  ENCLOS_ENSUREF(*out != NULL, ENCLOS_E_NOMEM, "collateral");
  (*out)->memo = enclos_calloc(1, sizeof *(*out)->memo);
  if ((*out)->memo == NULL || pthread_mutex_init(&(*out)->memo->mu, NULL) != 0) {
    enclos_free((*out)->memo);
    enclos_free(*out);
    *out = NULL;
    ENCLOS_FAILF(ENCLOS_E_NOMEM, "collateral memo");
  }
  return ENCLOS_OK;
}

static bool memo_has(verify_memo *m, const uint8_t key[32]) {
  bool found = false;
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->n && !found; i++) found = memcmp(m->keys[i], key, 32) == 0;
  pthread_mutex_unlock(&m->mu);
  return found;
}

static void memo_put(verify_memo *m, const uint8_t key[32]) {
  pthread_mutex_lock(&m->mu);
  memcpy(m->keys[m->next], key, 32);
  m->next = (m->next + 1) % VERIFY_MEMO_SLOTS;
  if (m->n < VERIFY_MEMO_SLOTS) m->n++;
  pthread_mutex_unlock(&m->mu);
}

static enclos_err memo_key(const char *tag, const void *a, size_t an, const void *b, size_t bn,
                           const void *d, size_t dn, uint8_t key[32]) {
  enclos_hash_ctx *h = NULL;
  ENCLOS_TRY(enclos_hash_new(ENCLOS_SHA256, &h));
  uint8_t lens[24];
  for (int i = 0; i < 8; i++) {
    lens[i] = (uint8_t)((uint64_t)an >> (8 * i));
    lens[8 + i] = (uint8_t)((uint64_t)bn >> (8 * i));
    lens[16 + i] = (uint8_t)((uint64_t)dn >> (8 * i));
  }
  enclos_err rc = enclos_hash_update(h, tag, strlen(tag) + 1);
  if (rc == ENCLOS_OK) rc = enclos_hash_update(h, lens, sizeof lens);
  if (rc == ENCLOS_OK) rc = enclos_hash_update(h, a, an);
  if (rc == ENCLOS_OK) rc = enclos_hash_update(h, b, bn);
  if (rc == ENCLOS_OK && dn > 0) rc = enclos_hash_update(h, d, dn);
  if (rc == ENCLOS_OK) rc = enclos_hash_final(h, key);
  enclos_hash_free(h);
  return rc;
}

enclos_err verify__cert_sig(const enclos_hw_collateral *c, const enclos_x509 *cert,
                            const enclos_x509 *issuer) {
  const uint8_t *a, *b;
  size_t an, bn;
  uint8_t key[32];
  enclos_x509_der(cert, &a, &an);
  enclos_x509_der(issuer, &b, &bn);
  ENCLOS_TRY(memo_key("cert", a, an, b, bn, NULL, 0, key));
  if (memo_has(c->memo, key)) return ENCLOS_OK;
  ENCLOS_TRY(enclos_x509_check_signature(cert, issuer));
  memo_put(c->memo, key);
  return ENCLOS_OK;
}

enclos_err verify__doc_sig(const enclos_hw_collateral *c, const enclos_x509 *signer, const void *msg,
                           size_t size, const uint8_t sig[64]) {
  const uint8_t *a;
  size_t an;
  uint8_t key[32];
  enclos_x509_der(signer, &a, &an);
  ENCLOS_TRY(memo_key("doc", a, an, sig, 64, msg, size, key));
  if (memo_has(c->memo, key)) return ENCLOS_OK;
  enclos_pkey *k = NULL;
  ENCLOS_TRY(enclos_x509_pubkey(signer, &k));
  enclos_err rc = enclos_pkey_verify(k, ENCLOS_SHA256, msg, size, sig, 64, ENCLOS_SIG_RAW);
  enclos_pkey_free(k);
  ENCLOS_TRY(rc);
  memo_put(c->memo, key);
  return ENCLOS_OK;
}

void enclos_hw_collateral_free(enclos_hw_collateral *c) {
  if (c == NULL) return;
  if (c->memo != NULL) pthread_mutex_destroy(&c->memo->mu);
  enclos_free(c->memo);
  for (size_t i = 0; i < c->n_certs; i++) enclos_x509_free(c->certs[i]);
  for (size_t i = 0; i < c->n_crls; i++) enclos_x509_crl_free(c->crls[i]);
  for (size_t i = 0; i < c->n_docs; i++) {
    enclos_buf_free(&c->docs[i].body);
    json_decref(c->docs[i].json);
  }
  enclos_free(c);
}

static enclos_err add_certs(enclos_hw_collateral *c, const uint8_t *data, size_t size) {
  enclos_x509 **list = NULL;
  size_t n = 0;
  ENCLOS_TRY(enclos_x509_list_parse(data, size, &list, &n));
  enclos_err rc = ENCLOS_OK;
  size_t i = 0;
  for (; i < n; i++) {
    if (c->n_certs >= VERIFY_MAX_CERTS) {
      rc = enclos_err_set(ENCLOS_E_LIMIT, __FILE__, __LINE__, "more than %d collateral certificates",
                          VERIFY_MAX_CERTS);
      break;
    }
    c->certs[c->n_certs++] = enclos_x509_ref(list[i]);
  }
  enclos_x509_list_free(list, n);
  return rc;
}

static enclos_err add_crl(enclos_hw_collateral *c, const uint8_t *data, size_t size) {
  ENCLOS_ENSUREF(c->n_crls < VERIFY_MAX_CRLS, ENCLOS_E_LIMIT, "more than %d CRLs", VERIFY_MAX_CRLS);
  ENCLOS_TRY(enclos_x509_crl_parse(data, size, &c->crls[c->n_crls]));
  c->n_crls++;
  return ENCLOS_OK;
}

/* Adds a signed document: \p body are the exact signed bytes, \p sig_hex the 128-hex signature. */
static enclos_err add_doc(enclos_hw_collateral *c, const char *body, size_t body_size,
                          const char *sig_hex, bool is_tcb) {
  ENCLOS_ENSUREF(c->n_docs < VERIFY_MAX_DOCS, ENCLOS_E_LIMIT, "more than %d signed documents",
                 VERIFY_MAX_DOCS);
  ENCLOS_ENSUREF(sig_hex != NULL && strlen(sig_hex) == 128, ENCLOS_E_MALFORMED,
                 "%s signature is not 128 hex digits", is_tcb ? "TCB Info" : "QE Identity");
  verify_doc *d = &c->docs[c->n_docs];
  memset(d, 0, sizeof *d);
  ENCLOS_TRY(enclos_hex_decode_to(d->sig, 64, sig_hex, 128));
  json_error_t jerr;
  d->json = json_loadb(body, body_size, JSON_REJECT_DUPLICATES, &jerr);
  if (d->json != NULL && !json_is_object(d->json)) {
    json_decref(d->json);
    d->json = NULL;
  }
  ENCLOS_ENSUREF(d->json != NULL, ENCLOS_E_MALFORMED, "%s body is not a JSON object: %s",
                 is_tcb ? "TCB Info" : "QE Identity", jerr.text);
  enclos_err e = enclos_buf_append(&d->body, body, body_size);
  if (e != ENCLOS_OK) {
    json_decref(d->json);
    d->json = NULL;
    return e;
  }
  d->is_tcb = is_tcb;
  c->n_docs++;
  return ENCLOS_OK;
}

/* Finds the exact bytes of the value of top-level member \p key of the JSON object text \p s:
 * from its '{' to the matching '}', honouring strings and escapes (RFC 8259 §7). The text was
 * already validated by jansson, so structure is well formed; bounds are still checked. */
static bool raw_member(const char *s, size_t n, const char *key, const char **out, size_t *out_n) {
  size_t klen = strlen(key);
  int depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (in_str) {
      if (ch == '\\') i++;
      else if (ch == '"') in_str = false;
      continue;
    }
    if (ch == '{' || ch == '[') depth++;
    else if (ch == '}' || ch == ']') depth--;
    else if (ch == '"') {
      if (depth == 1 && i + klen + 1 < n && memcmp(s + i + 1, key, klen) == 0 && s[i + 1 + klen] == '"') {
        size_t j = i + klen + 2;
        while (j < n && isspace((unsigned char)s[j])) j++;
        if (j >= n || s[j] != ':') return false;
        j++;
        while (j < n && isspace((unsigned char)s[j])) j++;
        if (j >= n || s[j] != '{') return false;
        size_t start = j;
        int d = 0;
        bool st = false;
        for (; j < n; j++) {
          if (st) {
            if (s[j] == '\\') j++;
            else if (s[j] == '"') st = false;
            continue;
          }
          if (s[j] == '"') st = true;
          else if (s[j] == '{') d++;
          else if (s[j] == '}' && --d == 0) {
            *out = s + start;
            *out_n = j - start + 1;
            return true;
          }
        }
        return false;
      }
      in_str = true;
    }
  }
  return false;
}

static enclos_err add_bundle_str(enclos_hw_collateral *c, json_t *root, const char *key, bool crl) {
  json_t *v = json_object_get(root, key);
  if (v == NULL) return ENCLOS_OK;
  ENCLOS_ENSUREF(json_is_string(v), ENCLOS_E_MALFORMED, "bundle member %s is not a string", key);
  const uint8_t *p = (const uint8_t *)json_string_value(v);
  size_t n = json_string_length(v);
  return crl ? add_crl(c, p, n) : add_certs(c, p, n);
}

static enclos_err add_json(enclos_hw_collateral *c, const char *text, size_t size,
                           enclos_coll_kind *kind) {
  json_error_t jerr;
  json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD_ENSUREF(root != NULL && json_is_object(root), ENCLOS_E_MALFORMED, "collateral JSON: %s",
                       root == NULL ? jerr.text : "not an object");
  const char *raw;
  size_t raw_n;
  json_t *sig = json_object_get(root, "signature");
  if (json_object_get(root, "tcbInfo") != NULL || json_object_get(root, "enclaveIdentity") != NULL) {
    bool tcb = json_object_get(root, "tcbInfo") != NULL;
    ENCLOS_GUARD_ENSUREF(json_is_string(sig), ENCLOS_E_MALFORMED, "signed JSON without signature");
    ENCLOS_GUARD_ENSUREF(raw_member(text, size, tcb ? "tcbInfo" : "enclaveIdentity", &raw, &raw_n),
                         ENCLOS_E_MALFORMED, "cannot locate the signed object bytes");
    ENCLOS_GUARD(add_doc(c, raw, raw_n, json_string_value(sig), tcb));
    *kind = tcb ? ENCLOS_COLL_TCB_INFO : ENCLOS_COLL_QE_IDENTITY;
  } else if (json_is_string(json_object_get(root, "tcb_info")) ||
             json_is_string(json_object_get(root, "qe_identity"))) {
    /* dcap-qvl QuoteCollateralV3: the signed JSON texts are string members. */
    static const char *const chains[] = {"pck_crl_issuer_chain", "tcb_info_issuer_chain",
                                         "qe_identity_issuer_chain", "pck_certificate_chain"};
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++)
      ENCLOS_GUARD(add_bundle_str(c, root, chains[i], false));
    ENCLOS_GUARD(add_bundle_str(c, root, "root_ca_crl", true));
    ENCLOS_GUARD(add_bundle_str(c, root, "pck_crl", true));
    json_t *ti = json_object_get(root, "tcb_info"), *qi = json_object_get(root, "qe_identity");
    if (json_is_string(ti))
      ENCLOS_GUARD(add_doc(c, json_string_value(ti), json_string_length(ti),
                           json_string_value(json_object_get(root, "tcb_info_signature")), true));
    if (json_is_string(qi))
      ENCLOS_GUARD(add_doc(c, json_string_value(qi), json_string_length(qi),
                           json_string_value(json_object_get(root, "qe_identity_signature")), false));
    *kind = ENCLOS_COLL_BUNDLE;
  } else {
    *kind = ENCLOS_COLL_NONE;
  }
cleanup:
  json_decref(root);
  return rc;
}

static bool is_hex_text(const uint8_t *p, size_t n) {
  size_t digits = 0;
  for (size_t i = 0; i < n; i++) {
    if (isxdigit(p[i])) digits++;
    else if (!isspace(p[i])) return false;
  }
  return digits > 0 && digits % 2 == 0;
}

enclos_err enclos_hw_collateral_add(enclos_hw_collateral *c, const void *data, size_t size,
                                    enclos_coll_kind *kind) {
  ENCLOS_ENSUREF(c != NULL && data != NULL, ENCLOS_E_INVAL, "collateral add: NULL argument");
  ENCLOS_ENSUREF(size <= VERIFY_MAX_FILE_SIZE, ENCLOS_E_LIMIT, "collateral item of %zu bytes", size);
  enclos_coll_kind k = ENCLOS_COLL_NONE;
  if (kind == NULL) kind = &k;
  *kind = ENCLOS_COLL_NONE;
  const uint8_t *p = data;
  size_t i = 0;
  while (i < size && isspace(p[i])) i++;
  if (i == size) return ENCLOS_OK;
  if (p[i] == '{') return add_json(c, (const char *)data, size, kind);
  /* PEM only in text files: a binary quote embeds its PCK chain as PEM but is not collateral. */
  bool text = true;
  for (size_t j = 0; j < size && text; j++)
    text = p[j] == '\n' || p[j] == '\r' || p[j] == '\t' || (p[j] >= 0x20 && p[j] < 0x7f);
  if (text && memmem(p, size, "-----BEGIN X509 CRL-----", 24) != NULL) {
    ENCLOS_TRY(add_crl(c, p, size));
    *kind = ENCLOS_COLL_CRL;
    return ENCLOS_OK;
  }
  if (text && memmem(p, size, "-----BEGIN CERTIFICATE-----", 27) != NULL) {
    ENCLOS_TRY(add_certs(c, p, size));
    *kind = ENCLOS_COLL_CERTS;
    return ENCLOS_OK;
  }
  if (p[i] == 0x30) {
    /* DER: a certificate or a CRL; anything else (a quote starting with 0x30?) is not collateral. */
    enclos_x509 *x = NULL;
    if (enclos_x509_from_der(p, size, &x) == ENCLOS_OK) {
      if (c->n_certs >= VERIFY_MAX_CERTS) {
        enclos_x509_free(x);
        ENCLOS_FAILF(ENCLOS_E_LIMIT, "more than %d collateral certificates", VERIFY_MAX_CERTS);
      }
      c->certs[c->n_certs++] = x;
      *kind = ENCLOS_COLL_CERTS;
      return ENCLOS_OK;
    }
    enclos_x509_crl *crl = NULL;
    if (c->n_crls < VERIFY_MAX_CRLS && enclos_x509_crl_parse(p, size, &crl) == ENCLOS_OK) {
      c->crls[c->n_crls++] = crl;
      *kind = ENCLOS_COLL_CRL;
    }
    enclos_err_clear();
    return ENCLOS_OK;
  }
  if (is_hex_text(p, size) && size >= 4 && (p[i] == '3' && p[i + 1] == '0')) {
    /* Hex of DER (a CRL as served by dcap-qvl, or a hex certificate). */
    enclos_buf compact = ENCLOS_BUF_INIT, bin = ENCLOS_BUF_INIT;
    enclos_err rc = ENCLOS_OK;
    for (size_t j = 0; j < size; j++)
      if (isxdigit(p[j])) ENCLOS_GUARD(enclos_buf_append_u8(&compact, p[j]));
    ENCLOS_GUARD(enclos_hex_decode(&bin, (const char *)compact.data, compact.len));
    ENCLOS_GUARD(enclos_hw_collateral_add(c, bin.data, bin.len, kind));
  cleanup:
    enclos_buf_free(&compact);
    enclos_buf_free(&bin);
    return rc;
  }
  return ENCLOS_OK;
}

enclos_err enclos_hw_collateral_add_dir(enclos_hw_collateral *c, const char *dir) {
  ENCLOS_ENSUREF(c != NULL && dir != NULL, ENCLOS_E_INVAL, "collateral dir: NULL argument");
  DIR *d = opendir(dir);
  ENCLOS_ENSUREF(d != NULL, ENCLOS_E_IO, "cannot open collateral folder %s", dir);
  enclos_err rc = ENCLOS_OK;
  char path[4096];
  uint8_t *data = NULL;
  struct dirent *e;
  /* readdir order is arbitrary; sort-free is fine because selection never depends on order. */
  for (size_t count = 0; (e = readdir(d)) != NULL; count++) {
    ENCLOS_GUARD_ENSUREF(count < VERIFY_MAX_DIR_ENTRIES, ENCLOS_E_LIMIT, "more than %d entries in %s",
                         VERIFY_MAX_DIR_ENTRIES, dir);
    if (e->d_name[0] == '.') continue;
    int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    ENCLOS_GUARD_ENSUREF(n > 0 && (size_t)n < sizeof path, ENCLOS_E_LIMIT, "path too long");
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if ((size_t)st.st_size > VERIFY_MAX_FILE_SIZE || st.st_size == 0) continue;
    FILE *f = fopen(path, "rb");
    if (f == NULL) continue;
    size_t sz = (size_t)st.st_size;
    data = enclos_malloc(sz);
    if (data == NULL) {
      fclose(f);
      ENCLOS_GUARD_FAILF(ENCLOS_E_NOMEM, "reading %s", path);
    }
    size_t got = fread(data, 1, sz, f);
    fclose(f);
    ENCLOS_GUARD_ENSUREF(got == sz, ENCLOS_E_IO, "short read of %s", path);
    enclos_coll_kind kind;
    ENCLOS_GUARD(enclos_hw_collateral_add(c, data, sz, &kind));
    enclos_free(data);
    data = NULL;
  }
cleanup:
  enclos_free(data);
  closedir(d);
  return rc;
}
