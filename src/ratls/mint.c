/* mint.c: leaf certificates and the in-TEE intermediate CA (docs/attestation.md §6).
 *
 * 1. Leaves   2. CA request   3. Sealing the intermediate (AES-256-GCM under the TEE key)
 * 4. Offline roots (the operator's, and the development one `serve --dev-pki` makes)
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>

#include <enclos/mem.h>
#include <enclos/reader.h>
#include <enclos/time.h>
#include <enclos/x509_make.h>

#include "ratls_int.h"

/* A fresh P-256 key, bound into the claims *c (hash of its SPKI), and the evidence
 * extension over those claims: what both a leaf and the CA request carry. */
static enclos_err key_with_evidence(enclos_tee *tee, enclos_claims *c, enclos_pkey **key_out,
                                    enclos_buf *ext) {
  enclos_err rc = ENCLOS_OK;
  enclos_pkey *key = NULL;
  enclos_buf spki = ENCLOS_BUF_INIT;
  ENCLOS_GUARD(enclos_pkey_generate(ENCLOS_KEY_EC_P256, &key));
  ENCLOS_GUARD(enclos_pkey_spki(key, &spki));
  ENCLOS_GUARD(enclos_claims_set_pubkey(c, spki.data, spki.len));
  ENCLOS_GUARD(enclos_ratls_make_evidence(tee, c, ext));
  *key_out = key;
  key = NULL;
cleanup:
  enclos_pkey_free(key);
  enclos_buf_free(&spki);
  return rc;
}

/* 1. Leaves -------------------------------------------------------------------------- */

enclos_err enclos_ratls_mint_leaf(enclos_tee *tee, const enclos_ratls_leaf_opts *opts,
                                  const enclos_x509 *issuer, const enclos_pkey *issuer_key,
                                  enclos_pkey **key_out, enclos_x509 **cert_out) {
  ENCLOS_ENSURE_REF(tee);
  ENCLOS_ENSURE_REF(opts);
  ENCLOS_ENSUREF((issuer == NULL) == (issuer_key == NULL), ENCLOS_E_INVAL, "issuer and its key go together");
  int64_t life = opts->lifetime_s ? opts->lifetime_s : ENCLOS_RATLS_DEFAULT_LIFETIME;
  ENCLOS_ENSUREF(life > 0 && life <= ENCLOS_RATLS_MAX_LIFETIME, ENCLOS_E_RANGE,
                 "leaf lifetime %lld s outside 1..%d", (long long)life, ENCLOS_RATLS_MAX_LIFETIME);
  int64_t now = opts->now ? opts->now : enclos_time_now();
  enclos_err rc = ENCLOS_OK;
  enclos_pkey *key = NULL;
  enclos_buf ext = ENCLOS_BUF_INIT;
  enclos_claims c;
  memset(&c, 0, sizeof(c));
  if (opts->config_root) {
    c.has_config_root = true;
    memcpy(c.config_root, opts->config_root, 32);
  }
  if (opts->app_name) {
    ENCLOS_GUARD_ENSUREF(opts->app_code_hash && opts->app_config_root &&
                             strlen(opts->app_name) <= ENCLOS_CLAIMS_MAX_APP_NAME,
                         ENCLOS_E_INVAL, "app identity needs name (<= %d bytes), code hash, config root",
                         ENCLOS_CLAIMS_MAX_APP_NAME);
    c.has_app = true;
    memcpy(c.app_name, opts->app_name, strlen(opts->app_name) + 1);
    memcpy(c.app_code_hash, opts->app_code_hash, 32);
    memcpy(c.app_config_root, opts->app_config_root, 32);
  }
  ENCLOS_GUARD(key_with_evidence(tee, &c, &key, &ext));
  enclos_x509_ext e = {.oid = ENCLOS_RATLS_OID_EVIDENCE, .value = ext.data, .size = ext.len, .critical = false};
  enclos_x509_make_opts mo = {.subject_cn = opts->cn ? opts->cn : "enclos",
                              .subject_o = "enclos RA-TLS",
                              .not_before = now - 60, /* clock skew */
                              .not_after = now + life,
                              .path_len = -1,
                              .dns_names = opts->dns_names,
                              .dns_count = opts->dns_count,
                              .exts = &e,
                              .ext_count = 1};
  ENCLOS_GUARD(enclos_x509_make(key, &mo, issuer, issuer ? issuer_key : key, cert_out));
  *key_out = key;
  key = NULL;
cleanup:
  enclos_pkey_free(key);
  enclos_buf_free(&ext);
  return rc;
}

bool enclos_ratls_leaf_due(const enclos_x509 *leaf, int64_t now) {
  int64_t nb, na;
  if (!leaf || enclos_x509_validity(leaf, &nb, &na) != ENCLOS_OK || na <= nb) return true;
  return now >= na - (na - nb) / 3;
}

/* 2. CA request ---------------------------------------------------------------------- */

enclos_err enclos_ratls_ca_request(enclos_tee *tee, const uint8_t *config_root, enclos_pkey **key_out,
                                   enclos_buf *csr_der) {
  enclos_err rc = ENCLOS_OK;
  enclos_pkey *key = NULL;
  enclos_buf ext = ENCLOS_BUF_INIT;
  enclos_claims c;
  memset(&c, 0, sizeof(c));
  if (config_root) {
    c.has_config_root = true;
    memcpy(c.config_root, config_root, 32);
  }
  ENCLOS_GUARD(key_with_evidence(tee, &c, &key, &ext));
  enclos_x509_ext e = {.oid = ENCLOS_RATLS_OID_EVIDENCE, .value = ext.data, .size = ext.len, .critical = false};
  ENCLOS_GUARD(enclos_x509_csr_make(key, "enclos intermediate CA", &e, 1, csr_der));
  *key_out = key;
  key = NULL;
cleanup:
  enclos_pkey_free(key);
  enclos_buf_free(&ext);
  return rc;
}

/* 3. Sealing ------------------------------------------------------------------------- */

/* File: "ENCLSEAL" ‖ iv[12] ‖ tag[16] ‖ ciphertext of (u32le keylen ‖ key DER ‖ cert DER);
 * AAD = the 8-byte magic. Key = HKDF-SHA-256(sealing key, info "enclos-ca-seal-v1"). */
#define SEAL_MAGIC "ENCLSEAL"
#define SEAL_MAX_FILE (256u * 1024u)

static enclos_err seal_key(enclos_tee *tee, uint8_t k[32]) {
  uint8_t base[32];
  static const char info[] = "enclos-ca-seal-v1";
  ENCLOS_TRY(enclos_tee_sealing_key(tee, base));
  enclos_err rc = enclos_hkdf(ENCLOS_SHA256, NULL, 0, base, 32, info, sizeof(info) - 1, k, 32);
  enclos_wipe(base, sizeof(base));
  return rc;
}

enclos_err enclos_ratls_ca_seal(enclos_tee *tee, const enclos_pkey *key, const enclos_x509 *cert,
                                const char *path) {
  enclos_buf pt = ENCLOS_BUF_INIT, kd = ENCLOS_BUF_INIT, file = ENCLOS_BUF_INIT;
  pt.secret = kd.secret = true;
  enclos_err rc = ENCLOS_OK;
  uint8_t k[32], iv[12], tag[16], *ct;
  const uint8_t *der;
  size_t der_size;
  ENCLOS_GUARD(seal_key(tee, k));
  ENCLOS_GUARD(enclos_pkey_private_der(key, &kd));
  enclos_x509_der(cert, &der, &der_size);
  ENCLOS_GUARD(enclos_buf_append_u32le(&pt, (uint32_t)kd.len));
  ENCLOS_GUARD(enclos_buf_append(&pt, kd.data, kd.len));
  ENCLOS_GUARD(enclos_buf_append(&pt, der, der_size));
  ENCLOS_GUARD(enclos_random(iv, sizeof(iv)));
  ENCLOS_GUARD(enclos_buf_append(&file, SEAL_MAGIC, 8));
  ENCLOS_GUARD(enclos_buf_append(&file, iv, 12));
  ENCLOS_GUARD(enclos_buf_append_zeros(&file, 16, &ct));
  ENCLOS_GUARD(enclos_buf_append_zeros(&file, pt.len, &ct));
  ENCLOS_GUARD(enclos_aead_seal(k, iv, SEAL_MAGIC, 8, pt.data, pt.len, ct, tag));
  memcpy(file.data + 20, tag, 16);
  {
    enclos_buf tmp = ENCLOS_BUF_INIT;
    const char *t;
    ENCLOS_GUARD(enclos_buf_printf(&tmp, "%s.tmp", path));
    rc = enclos_buf_cstr(&tmp, &t);
    if (rc == ENCLOS_OK) {
      FILE *f = fopen(t, "wb");
      bool ok = f && fwrite(file.data, 1, file.len, f) == file.len;
      ok = f && fclose(f) == 0 && ok;
      if (!ok || rename(t, path) != 0) rc = enclos_err_set(ENCLOS_E_IO, __FILE__, __LINE__, "writing %s", path);
    }
    enclos_buf_free(&tmp);
  }
cleanup:
  enclos_wipe(k, sizeof(k));
  enclos_buf_free(&pt);
  enclos_buf_free(&kd);
  enclos_buf_free(&file);
  return rc;
}

enclos_err enclos_ratls_ca_unseal(enclos_tee *tee, const char *path, enclos_pkey **key_out,
                                  enclos_x509 **cert_out) {
  enclos_buf file = ENCLOS_BUF_INIT, pt = ENCLOS_BUF_INIT;
  pt.secret = true;
  enclos_err rc = ENCLOS_OK;
  enclos_pkey *key = NULL;
  uint8_t k[32];
  FILE *f = fopen(path, "rb");
  ENCLOS_ENSUREF(f != NULL, ENCLOS_E_NOT_FOUND, "sealed CA %s not found", path);
  uint8_t chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (file.len + n > SEAL_MAX_FILE) {
      fclose(f);
      ENCLOS_GUARD_FAILF(ENCLOS_E_LIMIT, "sealed CA %s too large", path);
    }
    rc = enclos_buf_append(&file, chunk, n);
    if (rc != ENCLOS_OK) break;
  }
  fclose(f);
  ENCLOS_GUARD(rc);
  enclos_reader r;
  enclos_rd_init(&r, file.data, file.len);
  const uint8_t *magic, *iv, *tag;
  ENCLOS_GUARD(enclos_rd_bytes(&r, 8, &magic));
  ENCLOS_GUARD_ENSUREF(memcmp(magic, SEAL_MAGIC, 8) == 0, ENCLOS_E_MALFORMED, "%s is not a sealed CA", path);
  ENCLOS_GUARD(enclos_rd_bytes(&r, 12, &iv));
  ENCLOS_GUARD(enclos_rd_bytes(&r, 16, &tag));
  size_t ctn = enclos_rd_remaining(&r);
  uint8_t *p;
  ENCLOS_GUARD(enclos_buf_append_zeros(&pt, ctn, &p));
  ENCLOS_GUARD(seal_key(tee, k));
  rc = enclos_aead_open(k, iv, SEAL_MAGIC, 8, r.cur, ctn, tag, p);
  ENCLOS_GUARD_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_TAMPERED,
                       "sealed CA %s does not open: altered, or sealed by another TEE identity", path);
  enclos_reader pr;
  enclos_rd_init(&pr, pt.data, pt.len);
  uint32_t kl;
  const uint8_t *kd;
  ENCLOS_GUARD(enclos_rd_u32le(&pr, &kl));
  ENCLOS_GUARD(enclos_rd_bytes(&pr, kl, &kd));
  ENCLOS_GUARD(enclos_pkey_from_private(kd, kl, &key));
  ENCLOS_GUARD(enclos_x509_from_der(pr.cur, enclos_rd_remaining(&pr), cert_out));
  *key_out = key;
  key = NULL;
cleanup:
  enclos_wipe(k, sizeof(k));
  enclos_pkey_free(key);
  enclos_buf_free(&file);
  enclos_buf_free(&pt);
  return rc;
}

/* ---- 4. Offline roots ---------------------------------------------------------------------- */

/* Creates \p path with \p mode (refusing an existing file) and writes \p b durably. */
static enclos_err write_new(const char *path, const enclos_buf *b, int mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  ENCLOS_ENSUREF(fd >= 0, ENCLOS_E_IO, "cannot create %s: %s", path, strerror(errno));
  bool ok = write(fd, b->data, b->len) == (ssize_t)b->len;
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  ENCLOS_ENSUREF(ok, ENCLOS_E_IO, "writing %s", path);
  return ENCLOS_OK;
}

enclos_err enclos_ratls_root_create(const char *dir, const char *cn, const char *org) {
  ENCLOS_ENSURE_REF(dir);
  char kp[4096], cp[4096];
  snprintf(kp, sizeof(kp), "%s/root.key", dir);
  snprintf(cp, sizeof(cp), "%s/root.crt", dir);
  ENCLOS_ENSUREF(mkdir(dir, 0700) == 0 || errno == EEXIST, ENCLOS_E_IO, "cannot create %s: %s",
                 dir, strerror(errno));
  enclos_pkey *k = NULL;
  enclos_x509 *c = NULL;
  enclos_buf kb = ENCLOS_BUF_INIT, cb = ENCLOS_BUF_INIT;
  kb.secret = true;
  enclos_err rc = ENCLOS_OK;
  int64_t now = enclos_time_now();
  enclos_x509_make_opts o = {.subject_cn = cn, .subject_o = org, .not_before = now - 60,
                             .not_after = now + 10LL * 365 * 86400, .is_ca = true, .path_len = 1};
  ENCLOS_GUARD(enclos_pkey_generate(ENCLOS_KEY_EC_P384, &k));
  ENCLOS_GUARD(enclos_x509_make(k, &o, NULL, k, &c));
  ENCLOS_GUARD(enclos_pkey_private_pem(k, &kb));
  ENCLOS_GUARD(enclos_x509_pem(c, &cb));
  ENCLOS_GUARD(write_new(kp, &kb, 0600));
  ENCLOS_GUARD(write_new(cp, &cb, 0644));
cleanup:
  enclos_buf_free(&kb);
  enclos_buf_free(&cb);
  enclos_pkey_free(k);
  enclos_x509_free(c);
  return rc;
}
