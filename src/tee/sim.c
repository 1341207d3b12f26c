/* sim.c: the simulated TEE (docs/attestation.md §2). INSECURE by design: anyone with the state
 * directory can forge evidence. It exists so that the whole RA-TLS path runs on a laptop and in
 * CI, and verifiers refuse it unless a policy says allow_sim.
 *
 * 1. State directory: per-machine P-384 platform key, its self-signed root, a machine secret
 * 2. Measurement: SHA-384 of the running executable
 * 3. Evidence record: build and parse
 * 4. Sealing key: HKDF(machine secret, measurement)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos/mem.h>
#include <enclos/reader.h>
#include <enclos/time.h>
#include <enclos/x509.h>
#include <enclos/x509_make.h>

#include "tee_int.h"

#define SIM_SIGNED_SIZE (8 + 2 + 2 + ENCLOS_SIM_MEASUREMENT_SIZE + 64 + ENCLOS_SIM_KEY_ID_SIZE)
#define SIM_MAX_EXE_SIZE ((uint64_t)1 << 32)

/* 1. State directory ----------------------------------------------------------------- */

static enclos_err mkdir_p(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int r = mkdir(path, 0700);
    *p = '/';
    ENCLOS_ENSUREF(r == 0 || errno == EEXIST, ENCLOS_E_IO, "mkdir %s: %s", path, strerror(errno));
  }
  ENCLOS_ENSUREF(mkdir(path, 0700) == 0 || errno == EEXIST, ENCLOS_E_IO, "mkdir %s: %s", path,
                 strerror(errno));
  return ENCLOS_OK;
}

static enclos_err default_dir(char **out) {
  enclos_buf b = ENCLOS_BUF_INIT;
  const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  enclos_err rc = ENCLOS_OK;
  if (xdg && xdg[0] == '/') {
    ENCLOS_GUARD(enclos_buf_printf(&b, "%s/enclos/sim", xdg));
  } else {
    ENCLOS_GUARD_ENSUREF(home && home[0] == '/', ENCLOS_E_NOT_FOUND,
                         "sim state dir: neither XDG_STATE_HOME nor HOME is set");
    ENCLOS_GUARD(enclos_buf_printf(&b, "%s/.local/state/enclos/sim", home));
  }
  ENCLOS_GUARD(enclos_buf_append_u8(&b, 0));
  *out = (char *)enclos_buf_steal(&b, NULL);
cleanup:
  enclos_buf_free(&b);
  return rc;
}

/* Creates \p path with \p data only if it does not exist yet (link() is atomic), so two
 * processes starting at once agree on one key. */
static enclos_err create_exclusive(const char *path, const void *data, size_t size) {
  enclos_buf tmp = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  const char *t;
  ENCLOS_GUARD(enclos_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid()));
  ENCLOS_GUARD(enclos_buf_cstr(&tmp, &t));
  ENCLOS_GUARD(tee__write_file(t, data, size, true, 0600));
  if (link(t, path) != 0 && errno != EEXIST) {
    int e = errno;
    unlink(t);
    ENCLOS_GUARD_FAILF(ENCLOS_E_IO, "link %s: %s", path, strerror(e));
  }
  unlink(t);
cleanup:
  enclos_buf_free(&tmp);
  return rc;
}

static enclos_err load_or_create(const char *dir, const char *name, size_t max, enclos_buf *out,
                                 enclos_err (*make)(enclos_buf *)) {
  enclos_buf p = ENCLOS_BUF_INIT, fresh = ENCLOS_BUF_INIT;
  fresh.secret = true;
  enclos_err rc = ENCLOS_OK;
  const char *s;
  ENCLOS_GUARD(tee__path(&p, dir, name));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  rc = tee__read_file(s, max, out);
  if (rc == ENCLOS_E_NOT_FOUND) {
    enclos_err_clear();
    ENCLOS_GUARD(make(&fresh));
    ENCLOS_GUARD(create_exclusive(s, fresh.data, fresh.len));
    enclos_buf_reset(out);
    ENCLOS_GUARD(tee__read_file(s, max, out));
  }
cleanup:
  enclos_buf_free(&p);
  enclos_buf_free(&fresh);
  return rc;
}

static enclos_err make_key(enclos_buf *out) {
  enclos_pkey *k = NULL;
  ENCLOS_TRY(enclos_pkey_generate(ENCLOS_KEY_EC_P384, &k));
  enclos_err rc = enclos_pkey_private_der(k, out);
  enclos_pkey_free(k);
  return rc;
}

static enclos_err make_secret(enclos_buf *out) {
  uint8_t *p;
  ENCLOS_TRY(enclos_buf_append_zeros(out, 32, &p));
  return enclos_random(p, 32);
}

static enclos_err write_root(enclos_tee *t, const char *path) {
  enclos_x509 *root = NULL;
  const uint8_t *der;
  size_t size;
  int64_t now = enclos_time_now();
  enclos_x509_make_opts o = {.subject_cn = "enclos simulated TEE platform (INSECURE)",
                             .subject_o = "enclos-sim",
                             .not_before = now - 60,
                             .not_after = now + 20LL * 365 * 86400,
                             .is_ca = true,
                             .path_len = 0};
  ENCLOS_TRY(enclos_x509_make(t->sim_key, &o, NULL, t->sim_key, &root));
  enclos_x509_der(root, &der, &size);
  enclos_err rc = tee__write_file(path, der, size, true, 0644);
  if (rc == ENCLOS_OK) rc = enclos_buf_append(&t->sim_root_der, der, size);
  enclos_x509_free(root);
  return rc;
}

static enclos_err load_root(enclos_tee *t) {
  enclos_buf p = ENCLOS_BUF_INIT, spki = ENCLOS_BUF_INIT, rspki = ENCLOS_BUF_INIT;
  enclos_x509 *root = NULL;
  enclos_err rc = ENCLOS_OK;
  const char *s;
  ENCLOS_GUARD(tee__path(&p, t->sim_dir, "platform-root.der"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(enclos_pkey_spki(t->sim_key, &spki));
  rc = tee__read_file(s, 64 * 1024, &t->sim_root_der);
  if (rc == ENCLOS_OK && enclos_x509_from_der(t->sim_root_der.data, t->sim_root_der.len, &root) == ENCLOS_OK &&
      enclos_x509_spki(root, &rspki) == ENCLOS_OK && rspki.len == spki.len &&
      memcmp(rspki.data, spki.data, spki.len) == 0) {
    goto cleanup;
  }
  /* Missing, unreadable or for another key: (re)write it from the platform key. */
  enclos_err_clear();
  rc = ENCLOS_OK;
  enclos_buf_reset(&t->sim_root_der);
  ENCLOS_GUARD(write_root(t, s));
cleanup:
  enclos_x509_free(root);
  enclos_buf_free(&p);
  enclos_buf_free(&spki);
  enclos_buf_free(&rspki);
  return rc;
}

/* 2. Measurement --------------------------------------------------------------------- */

static enclos_err measure(const char *exe, uint8_t out[48]) {
  int fd = open(exe, O_RDONLY | O_CLOEXEC);
  ENCLOS_ENSUREF(fd >= 0, ENCLOS_E_IO, "open %s: %s", exe, strerror(errno));
  enclos_hash_ctx *h = NULL;
  enclos_err rc = ENCLOS_OK;
  uint64_t total = 0;
  uint8_t *chunk = enclos_malloc(65536);
  ENCLOS_GUARD_ENSUREF(chunk != NULL, ENCLOS_E_NOMEM, "buffer");
  ENCLOS_GUARD(enclos_hash_new(ENCLOS_SHA384, &h));
  for (;;) {
    ssize_t n = read(fd, chunk, 65536);
    if (n < 0 && errno == EINTR) continue;
    ENCLOS_GUARD_ENSUREF(n >= 0, ENCLOS_E_IO, "read %s: %s", exe, strerror(errno));
    if (n == 0) break;
    total += (uint64_t)n;
    ENCLOS_GUARD_ENSUREF(total <= SIM_MAX_EXE_SIZE, ENCLOS_E_LIMIT, "%s too large", exe);
    ENCLOS_GUARD(enclos_hash_update(h, chunk, (size_t)n));
  }
  ENCLOS_GUARD(enclos_hash_final(h, out));
cleanup:
  enclos_hash_free(h);
  enclos_free(chunk);
  close(fd);
  return rc;
}

enclos_err tee__sim_open(enclos_tee *t) {
  if (!t->sim_dir) ENCLOS_TRY(default_dir(&t->sim_dir));
  ENCLOS_TRY(mkdir_p(t->sim_dir));
  enclos_buf key = ENCLOS_BUF_INIT, sec = ENCLOS_BUF_INIT, spki = ENCLOS_BUF_INIT;
  key.secret = sec.secret = true;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(load_or_create(t->sim_dir, "platform-key.der", 16384, &key, make_key));
  ENCLOS_GUARD(enclos_pkey_from_private(key.data, key.len, &t->sim_key));
  ENCLOS_GUARD_ENSUREF(enclos_pkey_type(t->sim_key) == ENCLOS_KEY_EC_P384, ENCLOS_E_INVALID,
                       "sim platform key in %s is not P-384", t->sim_dir);
  ENCLOS_GUARD(load_or_create(t->sim_dir, "machine-secret", 32, &sec, make_secret));
  ENCLOS_GUARD_ENSUREF(sec.len == 32, ENCLOS_E_INVALID, "sim machine-secret in %s is not 32 bytes",
                       t->sim_dir);
  memcpy(t->sim_secret, sec.data, 32);
  ENCLOS_GUARD(enclos_pkey_spki(t->sim_key, &spki));
  ENCLOS_GUARD(enclos_hash(ENCLOS_SHA256, spki.data, spki.len, t->sim_key_id));
  ENCLOS_GUARD(load_root(t));
  ENCLOS_GUARD(measure(t->sim_exe, t->measurement));
cleanup:
  enclos_buf_free(&key);
  enclos_buf_free(&sec);
  enclos_buf_free(&spki);
  return rc;
}

/* 3. Evidence record ----------------------------------------------------------------- */

enclos_err tee__sim_evidence(enclos_tee *t, const uint8_t rd[64], enclos_buf *out) {
  enclos_buf rec = ENCLOS_BUF_INIT, sig = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_buf_append(&rec, ENCLOS_SIM_MAGIC, 8));
  ENCLOS_GUARD(enclos_buf_append_u16le(&rec, ENCLOS_SIM_VERSION));
  ENCLOS_GUARD(enclos_buf_append_u16le(&rec, 0));
  ENCLOS_GUARD(enclos_buf_append(&rec, t->measurement, ENCLOS_SIM_MEASUREMENT_SIZE));
  ENCLOS_GUARD(enclos_buf_append(&rec, rd, 64));
  ENCLOS_GUARD(enclos_buf_append(&rec, t->sim_key_id, ENCLOS_SIM_KEY_ID_SIZE));
  ENCLOS_GUARD(enclos_pkey_sign(t->sim_key, ENCLOS_SHA384, rec.data, rec.len, ENCLOS_SIG_DER, &sig));
  ENCLOS_GUARD_ENSUREF(sig.len <= ENCLOS_SIM_MAX_SIG, ENCLOS_E_INTERNAL, "signature size");
  ENCLOS_GUARD(enclos_buf_append_u16le(&rec, (uint16_t)sig.len));
  ENCLOS_GUARD(enclos_buf_append(&rec, sig.data, sig.len));
  ENCLOS_GUARD(enclos_buf_append(out, rec.data, rec.len));
cleanup:
  enclos_buf_free(&rec);
  enclos_buf_free(&sig);
  return rc;
}

enclos_err enclos_sim_evidence_parse(const void *data, size_t size, enclos_sim_evidence *out) {
  ENCLOS_ENSURE_REF(data);
  enclos_reader r;
  enclos_rd_init(&r, data, size);
  const uint8_t *magic;
  uint16_t flags, sig_len;
  ENCLOS_TRY(enclos_rd_bytes(&r, 8, &magic));
  ENCLOS_ENSUREF(memcmp(magic, ENCLOS_SIM_MAGIC, 8) == 0, ENCLOS_E_MALFORMED,
                 "sim evidence: bad magic at offset 0");
  ENCLOS_TRY(enclos_rd_u16le(&r, &out->version));
  ENCLOS_ENSUREF(out->version == ENCLOS_SIM_VERSION, ENCLOS_E_UNSUPPORTED,
                 "sim evidence: version %u (want %u)", out->version, ENCLOS_SIM_VERSION);
  ENCLOS_TRY(enclos_rd_u16le(&r, &flags));
  ENCLOS_ENSUREF(flags == 0, ENCLOS_E_MALFORMED, "sim evidence: reserved field is %u at offset 10", flags);
  ENCLOS_TRY(enclos_rd_bytes(&r, ENCLOS_SIM_MEASUREMENT_SIZE, &out->measurement));
  ENCLOS_TRY(enclos_rd_bytes(&r, 64, &out->report_data));
  ENCLOS_TRY(enclos_rd_bytes(&r, ENCLOS_SIM_KEY_ID_SIZE, &out->key_id));
  out->signed_part = data;
  out->signed_size = SIM_SIGNED_SIZE;
  ENCLOS_TRY(enclos_rd_u16le(&r, &sig_len));
  ENCLOS_ENSUREF(sig_len > 0 && sig_len <= ENCLOS_SIM_MAX_SIG, ENCLOS_E_LIMIT,
                 "sim evidence: signature length %u outside 1..%d", sig_len, ENCLOS_SIM_MAX_SIG);
  ENCLOS_TRY(enclos_rd_bytes(&r, sig_len, &out->sig));
  out->sig_size = sig_len;
  ENCLOS_ENSUREF(enclos_rd_eof(&r), ENCLOS_E_MALFORMED, "sim evidence: %zu trailing bytes at offset %zu",
                 enclos_rd_remaining(&r), enclos_rd_offset(&r));
  return ENCLOS_OK;
}

/* 4. Sealing key --------------------------------------------------------------------- */

enclos_err tee__sim_sealing_key(enclos_tee *t, uint8_t out[32]) {
  static const char salt[] = "enclos-sim-seal-v1";
  return enclos_hkdf(ENCLOS_SHA384, salt, sizeof(salt) - 1, t->sim_secret, sizeof(t->sim_secret),
                     t->measurement, sizeof(t->measurement), out, 32);
}
