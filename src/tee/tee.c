/* tee.c: backend selection, dispatch and the small file helpers every backend uses.
 *
 * 1. Names and detection
 * 2. Open / free / dispatch
 * 3. File helpers (copy, check, then use: every read is bounded)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos/encoding.h>
#include <enclos/log.h>
#include <enclos/mem.h>

#include "tee_int.h"

#define TSM_DEFAULT "/sys/kernel/config/tsm/report"
#define SEV_GUEST_DEFAULT "/dev/sev-guest"
#define GRAMINE_DEFAULT "/dev/attestation"

/* 1. Names and detection ------------------------------------------------------------- */

const char *enclos_tee_kind_name(enclos_tee_kind kind) {
  switch (kind) {
    case ENCLOS_TEE_SIM: return "sim";
    case ENCLOS_TEE_SGX: return "sgx";
    case ENCLOS_TEE_TDX: return "tdx";
    case ENCLOS_TEE_SNP: return "sev-snp";
    case ENCLOS_TEE_NONE: break;
  }
  return "none";
}

enclos_err enclos_tee_kind_parse(const char *name, enclos_tee_kind *out) {
  ENCLOS_ENSURE_REF(name);
  static const enclos_tee_kind all[] = {ENCLOS_TEE_SIM, ENCLOS_TEE_SGX, ENCLOS_TEE_TDX, ENCLOS_TEE_SNP};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    if (strcmp(name, enclos_tee_kind_name(all[i])) == 0) {
      *out = all[i];
      return ENCLOS_OK;
    }
  }
  ENCLOS_FAILF(ENCLOS_E_INVAL, "unknown TEE '%s' (expected sim, sgx, tdx or sev-snp)", name);
}

static const char *or_default(const char *v, const char *d) { return v ? v : d; }

enclos_err enclos_tee_detect(const enclos_tee_config *cfg, enclos_tee_kind *out) {
  enclos_tee_config none = {0};
  if (!cfg) cfg = &none;
  enclos_buf p = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  const char *s;
  ENCLOS_GUARD(tee__path(&p, or_default(cfg->gramine_root, GRAMINE_DEFAULT), "quote"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  if (access(s, F_OK) == 0) {
    *out = ENCLOS_TEE_SGX;
    goto cleanup;
  }
  enclos_buf prov = ENCLOS_BUF_INIT;
  if (tee__tsm_provider(or_default(cfg->tsm_root, TSM_DEFAULT), &prov) == ENCLOS_OK) {
    bool tdx = prov.len >= 3 && memcmp(prov.data, "tdx", 3) == 0;
    bool snp = prov.len >= 3 && memcmp(prov.data, "sev", 3) == 0;
    enclos_buf_free(&prov);
    if (tdx || snp) {
      *out = tdx ? ENCLOS_TEE_TDX : ENCLOS_TEE_SNP;
      goto cleanup;
    }
  }
  enclos_err_clear();
  if (access(or_default(cfg->sev_guest, SEV_GUEST_DEFAULT), F_OK) == 0) {
    *out = ENCLOS_TEE_SNP;
    goto cleanup;
  }
  *out = ENCLOS_TEE_SIM;
cleanup:
  enclos_buf_free(&p);
  return rc;
}

/* 2. Open / free / dispatch ---------------------------------------------------------- */

static enclos_err dup_or(char **dst, const char *v, const char *d) {
  if (!v && !d) return ENCLOS_OK;
  *dst = enclos_strdup(v ? v : d);
  ENCLOS_ENSURE(*dst != NULL, ENCLOS_E_NOMEM);
  return ENCLOS_OK;
}

enclos_err enclos_tee_open(enclos_tee_kind kind, const enclos_tee_config *cfg, enclos_tee **out) {
  enclos_tee_config none = {0};
  if (!cfg) cfg = &none;
  if (kind == ENCLOS_TEE_NONE) ENCLOS_TRY(enclos_tee_detect(cfg, &kind));
  enclos_err rc = ENCLOS_OK;
  enclos_tee *t = enclos_calloc(1, sizeof(*t));
  ENCLOS_ENSURE(t != NULL, ENCLOS_E_NOMEM);
  t->kind = kind;
  t->sev_ioctl = cfg->sev_ioctl;
  t->sev_ioctl_ctx = cfg->sev_ioctl_ctx;
  ENCLOS_GUARD(dup_or(&t->sim_dir, cfg->sim_state_dir, NULL));
  ENCLOS_GUARD(dup_or(&t->sim_exe, cfg->sim_exe, "/proc/self/exe"));
  ENCLOS_GUARD(dup_or(&t->tsm_root, cfg->tsm_root, TSM_DEFAULT));
  ENCLOS_GUARD(dup_or(&t->sev_guest, cfg->sev_guest, SEV_GUEST_DEFAULT));
  ENCLOS_GUARD(dup_or(&t->gramine_root, cfg->gramine_root, GRAMINE_DEFAULT));
  switch (kind) {
    case ENCLOS_TEE_SIM:
      ENCLOS_WARN_LOG("tee", "using the SIMULATED TEE: its evidence proves nothing; verifiers "
                             "refuse it unless their policy sets allow_sim");
      ENCLOS_GUARD(tee__sim_open(t));
      break;
    case ENCLOS_TEE_SNP: {
      struct stat st;
      t->snp_ioctl = !(stat(t->tsm_root, &st) == 0 && S_ISDIR(st.st_mode));
      break;
    }
    case ENCLOS_TEE_SGX:
    case ENCLOS_TEE_TDX: break;
    case ENCLOS_TEE_NONE: ENCLOS_GUARD_FAILF(ENCLOS_E_INVAL, "no TEE kind");
  }
  *out = t;
  return ENCLOS_OK;
cleanup:
  enclos_tee_free(t);
  return rc;
}

void enclos_tee_free(enclos_tee *t) {
  if (!t) return;
  enclos_free(t->sim_dir);
  enclos_free(t->sim_exe);
  enclos_free(t->tsm_root);
  enclos_free(t->sev_guest);
  enclos_free(t->gramine_root);
  enclos_pkey_free(t->sim_key);
  enclos_buf_free(&t->sim_root_der);
  enclos_wipe(t->sim_secret, sizeof(t->sim_secret));
  enclos_free(t);
}

enclos_tee_kind enclos_tee_get_kind(const enclos_tee *t) { return t->kind; }

enclos_err tee__check_report_data(enclos_tee_kind kind, const enclos_buf *ev, const uint8_t rd[64]) {
  size_t off = 0;
  if (kind == ENCLOS_TEE_SGX) {
    off = TEE__SGX_QUOTE_RD_OFF;
  } else if (kind == ENCLOS_TEE_TDX) {
    ENCLOS_ENSUREF(ev->len >= 2, ENCLOS_E_TRUNCATED, "TDX quote of %zu bytes", ev->len);
    uint16_t ver = (uint16_t)(ev->data[0] | ev->data[1] << 8);
    ENCLOS_ENSUREF(ver == 4 || ver == 5, ENCLOS_E_UNSUPPORTED, "TDX quote version %u", ver);
    off = ver == 4 ? TEE__TDX_QUOTE_RD_OFF : TEE__TDX5_QUOTE_RD_OFF;
  } else {
    ENCLOS_ENSUREF(ev->len == TEE__SNP_REPORT_SIZE, ENCLOS_E_MALFORMED,
                   "SNP report of %zu bytes (want %u)", ev->len, TEE__SNP_REPORT_SIZE);
    off = TEE__SNP_REPORT_RD_OFF;
  }
  ENCLOS_ENSUREF(ev->len >= off + 64, ENCLOS_E_TRUNCATED, "%s evidence of %zu bytes has no report data",
                 enclos_tee_kind_name(kind), ev->len);
  ENCLOS_ENSUREF(memcmp(ev->data + off, rd, 64) == 0, ENCLOS_E_VERIFY,
                 "%s provider returned evidence for other report data", enclos_tee_kind_name(kind));
  return ENCLOS_OK;
}

enclos_err enclos_tee_evidence(enclos_tee *t, const uint8_t rd[64], enclos_buf *out) {
  ENCLOS_ENSURE_REF(t);
  ENCLOS_ENSURE_REF(rd);
  switch (t->kind) {
    case ENCLOS_TEE_SIM: return tee__sim_evidence(t, rd, out);
    case ENCLOS_TEE_SGX: return tee__gramine_evidence(t, rd, out);
    case ENCLOS_TEE_TDX: return tee__tsm_evidence(t, "tdx_guest", rd, out);
    case ENCLOS_TEE_SNP:
      return t->snp_ioctl ? tee__snp_ioctl_report(t, rd, out) : tee__tsm_evidence(t, "sev_guest", rd, out);
    case ENCLOS_TEE_NONE: break;
  }
  ENCLOS_FAILF(ENCLOS_E_STATE, "no TEE");
}

enclos_err enclos_tee_endorsements(enclos_tee *t, enclos_buf *out) {
  ENCLOS_ENSURE_REF(t);
  if (t->kind == ENCLOS_TEE_SIM) return enclos_buf_append(out, t->sim_root_der.data, t->sim_root_der.len);
  return ENCLOS_OK;
}

enclos_err enclos_tee_sealing_key(enclos_tee *t, uint8_t out[32]) {
  ENCLOS_ENSURE_REF(t);
  switch (t->kind) {
    case ENCLOS_TEE_SIM: return tee__sim_sealing_key(t, out);
    case ENCLOS_TEE_SGX: return tee__gramine_key(t, out);
    case ENCLOS_TEE_SNP:
      if (t->snp_ioctl) return tee__snp_ioctl_key(t, out);
      ENCLOS_FAILF(ENCLOS_E_UNSUPPORTED, "SEV-SNP sealing key needs /dev/sev-guest "
                                         "(SNP_GET_DERIVED_KEY); configfs-tsm has no key interface");
    case ENCLOS_TEE_TDX:
      ENCLOS_FAILF(ENCLOS_E_UNSUPPORTED, "TDX has no hardware sealing key: keys come from a peer "
                                         "TEE's vault over mutual RA-TLS");
    case ENCLOS_TEE_NONE: break;
  }
  ENCLOS_FAILF(ENCLOS_E_STATE, "no TEE");
}

enclos_err enclos_tee_describe(enclos_tee *t, enclos_buf *out) {
  ENCLOS_ENSURE_REF(t);
  switch (t->kind) {
    case ENCLOS_TEE_SIM: {
      char m[2 * ENCLOS_SIM_MEASUREMENT_SIZE + 1], k[2 * ENCLOS_SIM_KEY_ID_SIZE + 1];
      enclos_hex_encode_to(m, t->measurement, sizeof(t->measurement));
      enclos_hex_encode_to(k, t->sim_key_id, sizeof(t->sim_key_id));
      return enclos_buf_printf(out, "sim (INSECURE simulation) state=%s measurement=%s platform-key=%s",
                               t->sim_dir, m, k);
    }
    case ENCLOS_TEE_SGX: return enclos_buf_printf(out, "sgx via Gramine at %s", t->gramine_root);
    case ENCLOS_TEE_TDX: return enclos_buf_printf(out, "tdx via configfs-tsm at %s", t->tsm_root);
    case ENCLOS_TEE_SNP:
      return t->snp_ioctl ? enclos_buf_printf(out, "sev-snp via %s", t->sev_guest)
                          : enclos_buf_printf(out, "sev-snp via configfs-tsm at %s", t->tsm_root);
    case ENCLOS_TEE_NONE: break;
  }
  return enclos_buf_printf(out, "none");
}

/* 3. File helpers -------------------------------------------------------------------- */

enclos_err tee__path(enclos_buf *out, const char *dir, const char *name) {
  enclos_buf_reset(out);
  return enclos_buf_printf(out, "%s/%s", dir, name);
}

enclos_err tee__read_file(const char *path, size_t max, enclos_buf *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ENCLOS_ENSUREF(fd >= 0, errno == ENOENT ? ENCLOS_E_NOT_FOUND : ENCLOS_E_IO, "open %s: %s", path,
                 strerror(errno));
  enclos_err rc = ENCLOS_OK;
  uint8_t chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    ENCLOS_GUARD_ENSUREF(n >= 0, ENCLOS_E_IO, "read %s: %s", path, strerror(errno));
    if (n == 0) break;
    ENCLOS_GUARD_ENSUREF(out->len + (size_t)n <= max, ENCLOS_E_LIMIT, "%s is larger than %zu bytes",
                         path, max);
    ENCLOS_GUARD(enclos_buf_append(out, chunk, (size_t)n));
  }
cleanup:
  close(fd);
  return rc;
}

enclos_err tee__write_file(const char *path, const void *data, size_t size, bool create, int mode) {
  int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
  int fd = open(path, flags, (mode_t)mode);
  ENCLOS_ENSUREF(fd >= 0, ENCLOS_E_IO, "open %s for writing: %s", path, strerror(errno));
  const uint8_t *p = data;
  size_t left = size;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      ENCLOS_FAILF(ENCLOS_E_IO, "write %s: %s", path, strerror(e));
    }
    p += n;
    left -= (size_t)n;
  }
  ENCLOS_ENSUREF(close(fd) == 0, ENCLOS_E_IO, "close %s: %s", path, strerror(errno));
  return ENCLOS_OK;
}
