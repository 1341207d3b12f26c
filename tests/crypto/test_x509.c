/* X.509 against real certificates from ../shared/testdata: the Intel SGX root and PCK
 * Platform CA, and AMD's ARK/ASK (RSA-PSS) with a VCEK. */
#include <enclos/time.h>
#include <enclos/x509.h>

#include "vec.h"

#define ATT(rel) SHARED("testdata/attestation/" rel)

static enclos_x509 **load(const char *path, size_t *n) {
  size_t size;
  uint8_t *data = test_read_file(path, &size);
  enclos_x509 **list;
  CHECK_OK(enclos_x509_list_parse(data, size, &list, n));
  free(data);
  return list;
}

static int64_t at(const char *iso) {
  int64_t t;
  CHECK_OK(enclos_time_parse(iso, &t));
  return t;
}

TEST(x509_intel_root_fingerprint_and_fields) {
  size_t n;
  enclos_x509 **root = load(ATT("tdx/google-go-tdx-guest/trusted_root.pem"), &n);
  CHECK_EQ_INT(n, 1);
  uint8_t fp[32];
  CHECK_OK(enclos_x509_fingerprint(root[0], fp));
  CHECK_HEX(fp, 32, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
  enclos_buf cn = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_x509_subject_attr(root[0], "CN", &cn));
  CHECK_STR((const char *)cn.data, "Intel SGX Root CA");
  CHECK(enclos_x509_is_ca(root[0]));
  int64_t nb, na;
  CHECK_OK(enclos_x509_validity(root[0], &nb, &na));
  CHECK(nb < at("2018-05-22T00:00:00Z") && na > at("2049-12-30T00:00:00Z"));
  /* The DER from PEM equals the DER file shipped elsewhere in the test data. */
  size_t dsize;
  uint8_t *der = test_read_file(ATT("tdx/phala-dcap-qvl/TrustedRootCA.der"), &dsize);
  enclos_x509 *d;
  CHECK_OK(enclos_x509_from_der(der, dsize, &d));
  uint8_t fp2[32];
  CHECK_OK(enclos_x509_fingerprint(d, fp2));
  CHECK_MEM(fp, fp2, 32);
  /* trailing byte after DER is refused */
  uint8_t *longer = malloc(dsize + 1);
  memcpy(longer, der, dsize);
  longer[dsize] = 0;
  enclos_x509 *bad = NULL;
  CHECK_ERR(enclos_x509_from_der(longer, dsize + 1, &bad), ENCLOS_E_MALFORMED);
  free(longer);
  free(der);
  enclos_x509_free(d);
  enclos_buf_free(&cn);
  enclos_x509_list_free(root, n);
}

TEST(x509_intel_chain_verifies_at_time) {
  size_t n, nr;
  enclos_x509 **chain = load(ATT("tdx/google-go-tdx-guest/pckCrlIssuerChain.pem"), &n);
  enclos_x509 **root = load(ATT("tdx/google-go-tdx-guest/trusted_root.pem"), &nr);
  CHECK_EQ_INT(n, 2);
  enclos_x509_verify_opts o = {.at = at("2025-07-01T00:00:00Z")};
  CHECK_OK(enclos_x509_verify_chain(chain[0], NULL, 0, root, 1, &o));
  CHECK_OK(enclos_x509_check_signature(chain[0], root[0]));
  CHECK_ERR(enclos_x509_check_signature(root[0], chain[0]), ENCLOS_E_VERIFY);
  /* outside the validity window */
  o.at = at("2060-01-01T00:00:00Z");
  CHECK_ERR(enclos_x509_verify_chain(chain[0], NULL, 0, root, 1, &o), ENCLOS_E_EXPIRED);
  CHECK_CONTAINS(enclos_err_detail(), "Intel SGX");
  o.at = at("2010-01-01T00:00:00Z");
  CHECK_ERR(enclos_x509_verify_chain(chain[0], NULL, 0, root, 1, &o), ENCLOS_E_EXPIRED);
  /* wrong trust anchor: the intermediate cannot anchor the root's own chain */
  o.at = at("2025-07-01T00:00:00Z");
  CHECK_ERR(enclos_x509_verify_chain(root[0], NULL, 0, chain, 1, &o), ENCLOS_E_VERIFY);
  enclos_x509_list_free(chain, n);
  enclos_x509_list_free(root, nr);
}

TEST(x509_amd_rsa_pss_chain_and_vcek_extensions) {
  size_t n;
  enclos_x509 **ask_ark = load(ATT("snp/google-go-sev-guest/ask_ark_milan.pem"), &n);
  CHECK_EQ_INT(n, 2);
  size_t vn;
  enclos_x509 **vcek = load(ATT("snp/google-go-sev-guest/vcek.testcer"), &vn);
  CHECK_EQ_INT(vn, 1);
  enclos_x509_verify_opts o = {.at = at("2022-09-24T01:00:00Z")};
  CHECK_OK(enclos_x509_verify_chain(vcek[0], &ask_ark[0], 1, &ask_ark[1], 1, &o));
  const uint8_t *v;
  size_t vs;
  bool crit = true;
  CHECK_OK(enclos_x509_extension(vcek[0], "1.3.6.1.4.1.3704.1.3.1", &v, &vs, &crit));
  CHECK(!crit);
  CHECK(vs > 0);
  CHECK_ERR(enclos_x509_extension(vcek[0], "1.2.3.4.5", &v, &vs, NULL), ENCLOS_E_NOT_FOUND);
  CHECK(enclos_x509_extension_count(vcek[0]) >= 8);
  enclos_pkey *pk;
  CHECK_OK(enclos_x509_pubkey(vcek[0], &pk));
  CHECK_EQ_INT(enclos_pkey_type(pk), ENCLOS_KEY_EC_P384);
  enclos_pkey_free(pk);
  enclos_x509_list_free(ask_ark, n);
  enclos_x509_list_free(vcek, vn);
}

TEST(x509_rejects_garbage) {
  enclos_x509 **list;
  size_t n;
  CHECK_ERR(enclos_x509_list_parse("\x30\x03\x02\x01\x00", 5, &list, &n), ENCLOS_E_MALFORMED);
  const char *pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  CHECK_ERR(enclos_x509_list_parse(pem, strlen(pem), &list, &n), ENCLOS_E_MALFORMED);
}
