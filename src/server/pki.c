/* pki.c: the operator CA chain of `enclos serve` (docs/attestation.md §6, docs/server.md "PKI").
 *
 * Without a CA, leaves are self-signed (zero-setup mode). With `--ca DIR` (a root made by
 * `enclos ca init DIR`: root.key, root.crt) the server keeps an intermediate CA whose key is
 * generated inside the TEE (enclos_ratls_ca_request) and sealed to DATA/pki/intermediate.sealed
 * under the TEE sealing key; the root signs it once (pathLen 0) and every leaf is issued by
 * it, so clients pin the root (`--roots root.crt`) instead of trusting self-signed leaves.
 * `--dev-pki` does the same with a development root created in DATA/pki/root (its key sits on
 * the untrusted disk: for development only, logged at start). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos/log.h>
#include <enclos/mem.h>
#include <enclos/ratls.h>
#include <enclos/time.h>
#include <enclos/x509_make.h>

#include "server_int.h"

#define MOD "server"
#define PKI_MAX_FILE (1u << 20)
#define INTERMEDIATE_DAYS 365

static enclos_err read_small(const char *path, enclos_buf *out) {
  FILE *f = fopen(path, "rb");
  ENCLOS_ENSUREF(f != NULL, ENCLOS_E_IO, "cannot open %s: %s", path, strerror(errno));
  uint8_t chunk[4096];
  size_t n;
  enclos_err rc = ENCLOS_OK;
  while (rc == ENCLOS_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    rc = out->len + n > PKI_MAX_FILE ? ENCLOS_E_LIMIT : enclos_buf_append(out, chunk, n);
  fclose(f);
  ENCLOS_ENSUREF(rc == ENCLOS_OK, rc, "reading %s", path);
  return ENCLOS_OK;
}

/* A development root in \p dir (root.key 0600, root.crt), created when absent. */
static enclos_err dev_root(const char *dir) {
  char cp[4096];
  snprintf(cp, sizeof(cp), "%s/root.crt", dir);
  if (access(cp, F_OK) == 0) return ENCLOS_OK;
  ENCLOS_TRY(enclos_ratls_root_create(dir, "enclos DEVELOPMENT root CA", "enclos dev-pki"));
  ENCLOS_WARN_LOG(MOD, "created a DEVELOPMENT root CA in %s (its key is on the untrusted disk)", dir);
  return ENCLOS_OK;
}

/* Generates the intermediate's key in the TEE and has the root in \p dir sign it. */
static enclos_err new_intermediate(enclos_server *s, const char *dir, enclos_pkey **key, enclos_x509 **cert) {
  char kp[4096], cp[4096];
  snprintf(kp, sizeof(kp), "%s/root.key", dir);
  snprintf(cp, sizeof(cp), "%s/root.crt", dir);
  enclos_buf kb = ENCLOS_BUF_INIT, cb = ENCLOS_BUF_INIT, csr = ENCLOS_BUF_INIT;
  kb.secret = true;
  enclos_pkey *rk = NULL, *ik = NULL;
  enclos_x509 **roots = NULL;
  size_t nroots = 0;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(read_small(kp, &kb));
  ENCLOS_GUARD(read_small(cp, &cb));
  ENCLOS_GUARD(enclos_pkey_from_private(kb.data, kb.len, &rk));
  ENCLOS_GUARD(enclos_x509_list_parse(cb.data, cb.len, &roots, &nroots));
  ENCLOS_GUARD_ENSUREF(nroots == 1, ENCLOS_E_INVALID, "%s must hold one certificate, not %zu", cp, nroots);
  pthread_mutex_lock(&s->tee_lock);
  rc = enclos_ratls_ca_request(s->tee, NULL, &ik, &csr);
  pthread_mutex_unlock(&s->tee_lock);
  ENCLOS_GUARD(rc);
  int64_t now = enclos_time_now();
  enclos_x509_make_opts o = {.subject_cn = "enclos intermediate CA", .subject_o = "enclos",
                             .not_before = now - 60, .not_after = now + (int64_t)INTERMEDIATE_DAYS * 86400,
                             .is_ca = true, .path_len = 0};
  ENCLOS_GUARD(enclos_x509_make(ik, &o, roots[0], rk, cert));
  *key = ik;
  ik = NULL;
cleanup:
  enclos_buf_free(&kb);
  enclos_buf_free(&cb);
  enclos_buf_free(&csr);
  enclos_pkey_free(rk);
  enclos_pkey_free(ik);
  if (roots) enclos_x509_list_free(roots, nroots);
  return rc;
}

enclos_err server__pki_boot(enclos_server *s) {
  const char *dir = s->cfg.ca_dir;
  char devdir[4096];
  if (!dir && !s->cfg.dev_pki) return ENCLOS_OK; /* self-signed leaves */
  if (!dir) {
    snprintf(devdir, sizeof(devdir), "%s/pki", s->data_dir);
    ENCLOS_ENSUREF(mkdir(devdir, 0700) == 0 || errno == EEXIST, ENCLOS_E_IO, "cannot create %s", devdir);
    snprintf(devdir, sizeof(devdir), "%s/pki/root", s->data_dir);
    ENCLOS_TRY(dev_root(devdir));
    dir = devdir;
  }
  char sealed[4096];
  snprintf(sealed, sizeof(sealed), "%s/pki", s->data_dir);
  ENCLOS_ENSUREF(mkdir(sealed, 0700) == 0 || errno == EEXIST, ENCLOS_E_IO, "cannot create %s", sealed);
  snprintf(sealed, sizeof(sealed), "%s/pki/intermediate.sealed", s->data_dir);
  int64_t now = enclos_time_now(), nb = 0, na = 0;
  if (access(sealed, F_OK) == 0) {
    enclos_err rc = enclos_ratls_ca_unseal(s->tee, sealed, &s->ca_key, &s->ca_cert);
    ENCLOS_ENSUREF(rc == ENCLOS_OK, rc, "the intermediate CA in %s does not unseal (another binary or TEE?): %s",
                   sealed, enclos_err_detail());
    /* A third of its lifetime left: renew (the root is at hand). */
    if (enclos_x509_validity(s->ca_cert, &nb, &na) != ENCLOS_OK || now > na - (na - nb) / 3) {
      ENCLOS_INFO_LOG(MOD, "intermediate CA due for renewal");
      enclos_pkey_free(s->ca_key);
      enclos_x509_free(s->ca_cert);
      s->ca_key = NULL;
      s->ca_cert = NULL;
      ENCLOS_ENSUREF(unlink(sealed) == 0, ENCLOS_E_IO, "cannot replace %s", sealed);
    } else {
      return ENCLOS_OK;
    }
  }
  ENCLOS_TRY(new_intermediate(s, dir, &s->ca_key, &s->ca_cert));
  enclos_err rc = enclos_ratls_ca_seal(s->tee, s->ca_key, s->ca_cert, sealed);
  ENCLOS_ENSUREF(rc == ENCLOS_OK, rc, "sealing the intermediate CA to %s: %s", sealed, enclos_err_detail());
  ENCLOS_INFO_LOG(MOD, "intermediate CA generated in the TEE, signed by %s/root.crt, sealed to %s", dir, sealed);
  return ENCLOS_OK;
}
