/* gramine.c: SGX evidence and sealing under Gramine-SGX through its /dev/attestation
 * pseudo-files (Gramine docs, "Attestation and Secret Provisioning": write 64 bytes to
 * user_report_data, read quote; keys/_sgx_mrenclave is the 16-byte MRENCLAVE sealing key). */
#include <string.h>

#include <enclos/mem.h>

#include "tee_int.h"

enclos_err tee__gramine_evidence(enclos_tee *t, const uint8_t rd[64], enclos_buf *out) {
  enclos_buf p = ENCLOS_BUF_INIT, q = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  const char *s;
  ENCLOS_GUARD(tee__path(&p, t->gramine_root, "user_report_data"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(tee__write_file(s, rd, 64, false, 0));
  ENCLOS_GUARD(tee__path(&p, t->gramine_root, "quote"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(tee__read_file(s, ENCLOS_TEE_MAX_EVIDENCE, &q));
  ENCLOS_GUARD_ENSUREF(q.len >= 2 && q.data[0] == 3 && q.data[1] == 0, ENCLOS_E_UNSUPPORTED,
                       "Gramine returned a quote that is not SGX quote v3");
  ENCLOS_GUARD(tee__check_report_data(ENCLOS_TEE_SGX, &q, rd));
  ENCLOS_GUARD(enclos_buf_append(out, q.data, q.len));
cleanup:
  enclos_buf_free(&p);
  enclos_buf_free(&q);
  return rc;
}

enclos_err tee__gramine_key(enclos_tee *t, uint8_t out[32]) {
  enclos_buf p = ENCLOS_BUF_INIT, k = ENCLOS_BUF_INIT;
  k.secret = true;
  enclos_err rc = ENCLOS_OK;
  const char *s;
  static const char info[] = "enclos-sgx-seal-v1";
  ENCLOS_GUARD(tee__path(&p, t->gramine_root, "keys/_sgx_mrenclave"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(tee__read_file(s, 64, &k));
  ENCLOS_GUARD_ENSUREF(k.len == 16, ENCLOS_E_MALFORMED, "%s: %zu bytes, want 16", s, k.len);
  /* Widen Gramine's AES-128 key to our 256-bit sealing key. */
  ENCLOS_GUARD(enclos_hkdf(ENCLOS_SHA256, NULL, 0, k.data, k.len, info, sizeof(info) - 1, out, 32));
cleanup:
  enclos_buf_free(&p);
  enclos_buf_free(&k);
  return rc;
}
