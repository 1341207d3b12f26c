/* fresh.c: evidence bound to one TLS session (docs/attestation.md §9). The exporter value is
 * SSL_export_keying_material(label "EXPORTER-enclos-attestation", no context, 32 bytes)
 * (RFC 8446 §7.5), which differs for every connection, so evidence cannot be replayed on or
 * relayed to another connection. */
#include <string.h>

#include <enclos/tls.h>

#include "ratls_int.h"

enclos_err enclos_ratls_fresh_evidence(enclos_tee *tee, struct enclos_tls_conn *conn, const enclos_x509 *leaf,
                                       const uint8_t *nonce, size_t nonce_size, const uint8_t *config_root,
                                       enclos_buf *ext) {
  ENCLOS_ENSURE_REF(nonce);
  ENCLOS_ENSUREF(nonce_size > 0 && nonce_size <= ENCLOS_CLAIMS_MAX_NONCE, ENCLOS_E_RANGE,
                 "nonce of %zu bytes (want 1..%d)", nonce_size, ENCLOS_CLAIMS_MAX_NONCE);
  enclos_claims c;
  memset(&c, 0, sizeof(c));
  enclos_buf spki = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD(enclos_x509_spki(leaf, &spki));
  ENCLOS_GUARD(enclos_claims_set_pubkey(&c, spki.data, spki.len));
  c.has_nonce = true;
  c.nonce_size = nonce_size;
  memcpy(c.nonce, nonce, nonce_size);
  c.has_tls_exporter = true;
  c.tls_exporter_size = ENCLOS_TLS_EXPORTER_SIZE;
  ENCLOS_GUARD(enclos_tls_exporter(conn, ENCLOS_TLS_EXPORTER_LABEL, c.tls_exporter, ENCLOS_TLS_EXPORTER_SIZE));
  if (config_root) {
    c.has_config_root = true;
    memcpy(c.config_root, config_root, 32);
  }
  ENCLOS_GUARD(enclos_ratls_make_evidence(tee, &c, ext));
cleanup:
  enclos_buf_free(&spki);
  return rc;
}
