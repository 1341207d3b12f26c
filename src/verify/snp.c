/* snp.c: verification of AMD SEV-SNP attestation reports (issue 6): ATTESTATION-FORMATS.md §3.6,
 * AMD SEV-SNP ABI #56860 §7.3 (ATTESTATION_REPORT), AMD "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification" #57230 (extensions, RSA-PSS chain). */
#include <stdio.h>
#include <string.h>

#include <enclos/crypto.h>
#include <enclos/encoding.h>
#include <enclos/reader.h>
#include <enclos/time.h>
#include <enclos/x509_crl.h>

#include "verify_int.h"

typedef struct ark_pin {
  const char *product;
  uint8_t fp[32];
} ark_pin;

/* SHA-256 of the DER ARK certificates as served by AMD KDS (ATTESTATION-FORMATS.md §2). */
static const ark_pin ark_pins[] = {
    {"Milan", {0x69, 0xd0, 0x63, 0xb4, 0x53, 0x44, 0xd2, 0x6a, 0x2e, 0x94, 0xe1, 0xf4, 0x21, 0x0d, 0xe4, 0x9e,
               0xf5, 0x55, 0x30, 0x82, 0x87, 0xd4, 0xc1, 0x74, 0x44, 0x5c, 0x95, 0x63, 0x9a, 0x54, 0x0b, 0xcd}},
    {"Genoa", {0x4c, 0x65, 0x98, 0xd1, 0x9c, 0x18, 0x71, 0x9c, 0x5d, 0xfd, 0x4a, 0x7d, 0x33, 0x5f, 0x67, 0x4e,
               0x5b, 0xfe, 0x1d, 0x8f, 0x80, 0x0c, 0xea, 0x2c, 0xf2, 0x70, 0xc1, 0x0d, 0x10, 0x3d, 0xb2, 0xf1}},
    {"Turin", {0x1f, 0x08, 0x41, 0x61, 0xa4, 0x4b, 0xb6, 0xd9, 0x37, 0x78, 0xa9, 0x04, 0x87, 0x7d, 0x48, 0x19,
               0xca, 0xfa, 0x5d, 0x05, 0xef, 0x41, 0x93, 0xb2, 0xde, 0xd9, 0xdd, 0x9c, 0x73, 0xdd, 0x3f, 0x6a}},
};

#define AMD_OID "1.3.6.1.4.1.3704.1."

/* Test seam (STYLE.md §20): when set, the ARK of every product must have this fingerprint instead
 * of AMD's. Only tests/verify/test_own_ca.c sets it, to build a chain under its own root. */
const uint8_t *verify__ark_pin_override = NULL;

static bool cn_is(const enclos_x509 *x, const char *want) {
  enclos_buf cn = ENCLOS_BUF_INIT;
  size_t wl = strlen(want);
  bool ok = enclos_x509_subject_attr(x, "CN", &cn) == ENCLOS_OK && cn.len >= wl &&
            memcmp(cn.data, want, wl) == 0 && (cn.len == wl || cn.data[wl] == 0);
  enclos_buf_free(&cn);
  enclos_err_clear();
  return ok;
}

/* productName extension: DER IA5String (e.g. "Milan-B0"); the family name is before '-'. */
static enclos_err product_name(const enclos_x509 *x, char *out, size_t cap) {
  const uint8_t *v;
  size_t n;
  bool crit;
  ENCLOS_TRY(enclos_x509_extension(x, AMD_OID "2", &v, &n, &crit));
  ENCLOS_ENSUREF(n >= 2 && v[0] == 0x16 && v[1] == n - 2 && n - 2 < cap, ENCLOS_E_MALFORMED,
                 "VCEK productName is not a short IA5String");
  memcpy(out, v + 2, n - 2);
  out[n - 2] = 0;
  char *dash = strchr(out, '-');
  if (dash != NULL) *dash = 0;
  return ENCLOS_OK;
}

static enclos_err ext_uint(const enclos_x509 *x, const char *oid, unsigned *out) {
  const uint8_t *v;
  size_t n;
  bool crit;
  ENCLOS_TRY(enclos_x509_extension(x, oid, &v, &n, &crit));
  ENCLOS_ENSUREF(n >= 3 && n <= 4 && v[0] == 0x02 && v[1] == n - 2 && (v[2] & 0x80) == 0,
                 ENCLOS_E_MALFORMED, "extension %s is not a small INTEGER", oid);
  unsigned x2 = 0;
  for (size_t i = 2; i < n; i++) x2 = (x2 << 8) | v[i];
  ENCLOS_ENSUREF(x2 <= 255, ENCLOS_E_RANGE, "extension %s value %u > 255", oid, x2);
  *out = x2;
  return ENCLOS_OK;
}

static enclos_err cert_valid_at(enclos_hw_result *r, const enclos_x509 *x, int64_t at, const char *what) {
  int64_t nb, na;
  ENCLOS_TRY(enclos_x509_validity(x, &nb, &na));
  char a[21], b[21];
  enclos_time_format(nb, a);
  enclos_time_format(na, b);
  ENCLOS_ENSUREF(nb <= at && at <= na, ENCLOS_E_EXPIRED, "%s valid %s .. %s, not at the verification time",
                 what, a, b);
  verify__window(r, nb, na);
  return ENCLOS_OK;
}

static int opt_spl(const enclos_x509 *x, const char *oid) {
  unsigned v;
  if (ext_uint(x, oid, &v) != ENCLOS_OK) {
    enclos_err_clear();
    return -1;
  }
  return (int)v;
}

enclos_err enclos_amd_cert_ext_parse(const enclos_x509 *x, enclos_amd_cert_ext *o) {
  ENCLOS_ENSUREF(x != NULL && o != NULL, ENCLOS_E_INVAL, "AMD ext parse: NULL argument");
  memset(o, 0, sizeof *o);
  const uint8_t *v;
  size_t n;
  bool crit;
  ENCLOS_TRY(enclos_x509_extension(x, AMD_OID "2", &v, &n, &crit));
  ENCLOS_ENSUREF(n >= 2 && v[0] == 0x16 && v[1] == n - 2 && n - 2 < sizeof o->product, ENCLOS_E_MALFORMED,
                 "productName is not a short IA5String");
  memcpy(o->product, v + 2, n - 2);
  o->bl_spl = opt_spl(x, AMD_OID "3.1");
  o->tee_spl = opt_spl(x, AMD_OID "3.2");
  o->snp_spl = opt_spl(x, AMD_OID "3.3");
  o->ucode_spl = opt_spl(x, AMD_OID "3.8");
  o->fmc_spl = opt_spl(x, AMD_OID "3.9");
  enclos_err rc = enclos_x509_extension(x, AMD_OID "4", &v, &n, &crit);
  if (rc == ENCLOS_OK) {
    if (n >= 2 && v[0] == 0x04 && (size_t)v[1] == n - 2 && (n - 2 == 64 || n - 2 == 8)) {
      v += 2;
      n -= 2;
    }
    ENCLOS_ENSUREF(n == 64 || n == 8, ENCLOS_E_MALFORMED, "hwID of %zu bytes", n);
    memcpy(o->hwid, v, n);
    o->hwid_size = n;
  } else {
    ENCLOS_ENSUREF(rc == ENCLOS_E_NOT_FOUND, rc, "hwID extension");
    enclos_err_clear();
  }
  o->has_csp_id = enclos_x509_extension(x, AMD_OID "5", &v, &n, &crit) == ENCLOS_OK;
  enclos_err_clear();
  return ENCLOS_OK;
}

typedef struct sctx {
  const enclos_hw_collateral *c;
  int64_t at;
  const enclos_hw_policy *p;
  enclos_hw_result *r;
  const enclos_x509 *leaf, *ica, *ark;
} sctx;

/* hwID of a VCEK equals CHIP_ID (first 8 bytes on Turin): picks the right VCEK among several
 * without a signature check (check_report_sig verifies the report once). */
static bool hwid_matches(const enclos_x509 *x, const enclos_snp_report *rep) {
  enclos_amd_cert_ext e;
  if (enclos_amd_cert_ext_parse(x, &e) != ENCLOS_OK) {
    enclos_err_clear();
    return false;
  }
  return e.hwid_size > 0 && memcmp(e.hwid, rep->chip_id, e.hwid_size) == 0;
}

static enclos_err find_leaf(sctx *s) {
  const char *want = s->r->snp_vlek ? "SEV-VLEK" : "SEV-VCEK";
  const enclos_snp_report *rep = &s->r->snp;
  const enclos_x509 *any = NULL;
  size_t candidates = 0;
  for (size_t i = 0; i < s->c->n_certs; i++) candidates += cn_is(s->c->certs[i], want);
  for (size_t i = 0; i < s->c->n_certs; i++) {
    const enclos_x509 *x = s->c->certs[i];
    if (!cn_is(x, want)) continue;
    any = x;
    if (candidates == 1) break;
    if (!s->r->snp_vlek && hwid_matches(x, rep)) {
      s->leaf = x;
      return ENCLOS_OK;
    }
    if (!s->r->snp_vlek) continue;
    /* VLEKs carry no hwID: the one whose key verifies the report. */
    enclos_pkey *k = NULL;
    if (enclos_x509_pubkey(x, &k) != ENCLOS_OK) continue;
    uint8_t sig[96];
    memcpy(sig, rep->sig_r, 48);
    memcpy(sig + 48, rep->sig_s, 48);
    enclos_err rc = enclos_pkey_verify(k, ENCLOS_SHA384, rep->raw, 0x2A0, sig, 96, ENCLOS_SIG_RAW);
    enclos_pkey_free(k);
    if (rc == ENCLOS_OK) {
      s->leaf = x;
      enclos_err_clear();
      return ENCLOS_OK;
    }
  }
  enclos_err_clear();
  if (any != NULL) {
    s->leaf = any;
    return ENCLOS_OK;
  }
  ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "collateral missing: no %s certificate", want);
}

/* Product family from the v3+ CPUID fields: family 0x19 model 0x0X Milan, 0x1X (Genoa) and 0xAX
 * (Bergamo/Siena, served by KDS as Genoa); family 0x1A Turin. */
const char *verify__snp_cpuid_product(const enclos_snp_report *rep) {
  if (rep->cpuid_fam_id == 0x1A) return "Turin";
  if (rep->cpuid_fam_id != 0x19) return "unknown";
  unsigned m = rep->cpuid_mod_id >> 4;
  return m == 0 ? "Milan" : (m == 1 || m == 0xA) ? "Genoa" : "unknown";
}

static enclos_err check_chain(sctx *s) {
  enclos_hw_result *r = s->r;
  char prod[16] = "";
  ENCLOS_TRY(product_name(s->leaf, prod, sizeof prod));
  if (prod[0] == 0 && r->snp.version >= 3) {
    /* v3+: CPUID family/model (family 0x19 model 0x0x Milan, 0x1x Genoa; family 0x1A Turin). */
    if (strcmp(verify__snp_cpuid_product(&r->snp), "unknown") != 0)
      snprintf(prod, sizeof prod, "%s", verify__snp_cpuid_product(&r->snp));
  }
  if (r->snp.version >= 3 && r->snp.cpuid_fam_id != 0) {
    /* The VCEK's productName and the report's CPUID must name the same product family (a Milan
     * VCEK cannot vouch for a Genoa report: ATTESTATION-FORMATS.md §3.6 step 2). */
    const char *cpu = verify__snp_cpuid_product(&r->snp);
    ENCLOS_ENSUREF(strcmp(cpu, prod) == 0, ENCLOS_E_VERIFY,
                   "report CPUID family 0x%02x model 0x%02x is %s, the %s certificate is for %s",
                   r->snp.cpuid_fam_id, r->snp.cpuid_mod_id, cpu, r->snp_vlek ? "VLEK" : "VCEK", prod);
  }
  const ark_pin *pin = NULL;
  for (size_t i = 0; i < sizeof ark_pins / sizeof ark_pins[0]; i++)
    if (strcmp(prod, ark_pins[i].product) == 0) pin = &ark_pins[i];
  ENCLOS_ENSUREF(pin != NULL, ENCLOS_E_UNSUPPORTED, "unknown SNP product \"%s\"", prod);
  snprintf(r->snp_product, sizeof r->snp_product, "%s", prod);
  for (size_t i = 0; i < s->c->n_certs && s->ark == NULL; i++) {
    uint8_t fp[32];
    const uint8_t *want = verify__ark_pin_override != NULL ? verify__ark_pin_override : pin->fp;
    if (enclos_x509_fingerprint(s->c->certs[i], fp) == ENCLOS_OK && memcmp(fp, want, 32) == 0)
      s->ark = s->c->certs[i];
  }
  ENCLOS_ENSUREF(s->ark != NULL, ENCLOS_E_NOT_FOUND, "collateral missing: pinned ARK-%s", prod);
  ENCLOS_TRY(verify__cert_sig(s->c, s->ark, s->ark));
  const char *ica_cn_prefix = r->snp_vlek ? "SEV-VLEK-" : "SEV-";
  char ica_cn[32];
  snprintf(ica_cn, sizeof ica_cn, "%s%s", ica_cn_prefix, prod);
  bool seen = false;
  for (size_t i = 0; i < s->c->n_certs && s->ica == NULL; i++) {
    const enclos_x509 *x = s->c->certs[i];
    if (!cn_is(x, ica_cn)) continue;
    seen = true;
    if (verify__cert_sig(s->c, x, s->ark) == ENCLOS_OK) s->ica = x;
  }
  ENCLOS_ENSUREF(s->ica != NULL, seen ? ENCLOS_E_VERIFY : ENCLOS_E_NOT_FOUND,
                 seen ? "%s is not signed by the pinned ARK" : "collateral missing: %s", ica_cn);
  ENCLOS_ENSUREF(enclos_x509_is_ca(s->ica) && enclos_x509_is_ca(s->ark), ENCLOS_E_VERIFY,
                 "AMD CA certificates lack basicConstraints CA");
  enclos_err rc = verify__cert_sig(s->c, s->leaf, s->ica);
  ENCLOS_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_VERIFY, "%s is not signed by %s",
                 r->snp_vlek ? "VLEK" : "VCEK", ica_cn);
  ENCLOS_TRY(cert_valid_at(r, s->ark, s->at, "ARK"));
  ENCLOS_TRY(cert_valid_at(r, s->ica, s->at, r->snp_vlek ? "ASVK" : "ASK"));
  ENCLOS_TRY(cert_valid_at(r, s->leaf, s->at, r->snp_vlek ? "VLEK" : "VCEK"));
  return ENCLOS_OK;
}

/* §3.6 step 7: an ARK-signed CRL (AMD KDS /vcek/v1/{product}/crl, /vlek/v1/...) when the collateral
 * has one: signed by the pinned ARK, fresh at t (unless relaxed), the ASK/ASVK not listed. Without
 * one the step is skipped unless the policy requires it (require_amd_crl). */
static enclos_err check_amd_crl(sctx *s) {
  const enclos_x509_crl *crl = NULL;
  bool bad_sig = false;
  for (size_t i = 0; i < s->c->n_crls; i++) {
    const enclos_x509_crl *x = s->c->crls[i];
    if (!enclos_x509_crl_issued_by(x, s->ark)) continue;
    if (enclos_x509_crl_check_signature(x, s->ark) != ENCLOS_OK) {
      bad_sig = true;
      continue;
    }
    int64_t tu, nu;
    if (enclos_x509_crl_times(x, &tu, &nu) != ENCLOS_OK) continue;
    if (crl == NULL || (tu <= s->at && s->at <= nu)) crl = x;
  }
  enclos_err_clear();
  const char *prod = s->r->snp_product;
  if (crl == NULL) {
    ENCLOS_ENSUREF(!bad_sig, ENCLOS_E_VERIFY, "the ARK-%s CRL has an invalid signature", prod);
    ENCLOS_ENSUREF(!s->p->require_amd_crl, ENCLOS_E_NOT_FOUND, "collateral missing: ARK-%s CRL", prod);
    return ENCLOS_OK;
  }
  int64_t tu, nu;
  ENCLOS_TRY(enclos_x509_crl_times(crl, &tu, &nu));
  if (!s->p->relax_crl_freshness) {
    char a[21], b[21];
    enclos_time_format(tu, a);
    enclos_time_format(nu, b);
    ENCLOS_ENSUREF(tu <= s->at && (nu == INT64_MAX || s->at <= nu + s->p->grace_seconds), ENCLOS_E_EXPIRED,
                   "ARK-%s CRL valid %s .. %s, not at the verification time", prod, a, b);
    verify__window(s->r, tu, nu);
  }
  ENCLOS_ENSUREF(!enclos_x509_crl_lists(crl, s->ica), ENCLOS_E_REVOKED, "%s-%s is revoked by the ARK-%s CRL",
                 s->r->snp_vlek ? "SEV-VLEK" : "SEV", prod, prod);
  return ENCLOS_OK;
}

static enclos_err check_report_sig(sctx *s) {
  enclos_pkey *k = NULL;
  ENCLOS_TRY(enclos_x509_pubkey(s->leaf, &k));
  enclos_key_type t = enclos_pkey_type(k);
  uint8_t sig[96];
  memcpy(sig, s->r->snp.sig_r, 48);
  memcpy(sig + 48, s->r->snp.sig_s, 48);
  enclos_err rc = t == ENCLOS_KEY_EC_P384 ? enclos_pkey_verify(k, ENCLOS_SHA384, s->r->snp.raw, 0x2A0,
                                                                 sig, 96, ENCLOS_SIG_RAW)
                                          : ENCLOS_E_VERIFY;
  enclos_pkey_free(k);
  ENCLOS_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_VERIFY, "SNP report signature is invalid");
  return ENCLOS_OK;
}

/* §3.6 step 5: each SPL extension equals the REPORTED_TCB byte; hwID equals CHIP_ID (VCEK). */
static enclos_err check_tcb(sctx *s) {
  const enclos_snp_report *rep = &s->r->snp;
  bool turin = strcmp(s->r->snp_product, "Turin") == 0;
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(rep->reported_tcb >> (8 * i));
  struct { const char *oid, *name; uint8_t want; } spl[] = {
      {AMD_OID "3.1", "blSPL", turin ? b[1] : b[0]},
      {AMD_OID "3.2", "teeSPL", turin ? b[2] : b[1]},
      {AMD_OID "3.3", "snpSPL", turin ? b[3] : b[6]},
      {AMD_OID "3.8", "ucodeSPL", b[7]},
      {AMD_OID "3.9", "fmcSPL", b[0]},
  };
  for (size_t i = 0; i < sizeof spl / sizeof spl[0]; i++) {
    if (i == 4 && !turin) continue;
    unsigned v;
    ENCLOS_TRY(ext_uint(s->leaf, spl[i].oid, &v));
    ENCLOS_ENSUREF(v == spl[i].want, ENCLOS_E_VERIFY, "%s %u in the certificate, %u in REPORTED_TCB",
                   spl[i].name, v, spl[i].want);
  }
  if (s->r->snp_vlek) return ENCLOS_OK;
  const uint8_t *v;
  size_t n;
  bool crit;
  ENCLOS_TRY(enclos_x509_extension(s->leaf, AMD_OID "4", &v, &n, &crit));
  /* Raw bytes in older certificates, an OCTET STRING in newer ones (formats page §3.6). */
  if (n >= 2 && v[0] == 0x04 && (size_t)v[1] == n - 2 && (n - 2 == 64 || n - 2 == 8)) {
    v += 2;
    n -= 2;
  }
  ENCLOS_ENSUREF(n == 64 || n == 8, ENCLOS_E_MALFORMED, "VCEK hwID of %zu bytes", n);
  static const uint8_t zero[64];
  bool masked = (rep->flags & 2) != 0 || memcmp(rep->chip_id, zero, 64) == 0;
  ENCLOS_ENSUREF(masked || memcmp(v, rep->chip_id, n) == 0, ENCLOS_E_VERIFY,
                 "CHIP_ID differs from the VCEK hwID");
  return ENCLOS_OK;
}

/* TCB_VERSION components (formats page §3.5): Milan/Genoa byte0 BOOT_LOADER, byte1 TEE, byte6 SNP,
 * byte7 MICROCODE; Turin byte0 FMC, byte1 BOOT_LOADER, byte2 TEE, byte3 SNP, byte7 MICROCODE. */
static enclos_err check_min_tcb(const enclos_hw_policy *p, uint64_t tcb, bool turin) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(tcb >> (8 * i));
  struct { const char *name; int min; int have; } c[] = {
      {"bootloader", p->snp_min_bootloader, turin ? b[1] : b[0]},
      {"tee", p->snp_min_tee, turin ? b[2] : b[1]},
      {"snp", p->snp_min_snp, turin ? b[3] : b[6]},
      {"microcode", p->snp_min_microcode, b[7]},
      {"fmc", p->snp_min_fmc, turin ? b[0] : -1},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    if (c[i].min < 0) continue;
    ENCLOS_ENSUREF(c[i].have >= 0, ENCLOS_E_POLICY,
                   "policy sets a minimum %s SVN but this product's TCB has no %s component", c[i].name,
                   c[i].name);
    ENCLOS_ENSUREF(c[i].have >= c[i].min, ENCLOS_E_POLICY,
                   "REPORTED_TCB %s SVN %d below the policy minimum %d", c[i].name, c[i].have, c[i].min);
  }
  return ENCLOS_OK;
}

static enclos_err check_policy(sctx *s) {
  const enclos_hw_policy *p = s->p;
  const enclos_snp_report *rep = &s->r->snp;
  char h[97];
  ENCLOS_ENSUREF(!s->r->debug || p->allow_debug, ENCLOS_E_POLICY, "guest policy allows DEBUG (bit 19)");
  ENCLOS_ENSUREF(!(rep->policy & ENCLOS_SNP_POLICY_MIGRATE_MA) || p->allow_migration, ENCLOS_E_POLICY,
                 "guest policy allows a migration agent (MIGRATE_MA, bit 18)");
  ENCLOS_ENSUREF(!p->require_single_socket || (rep->policy & ENCLOS_SNP_POLICY_SINGLE_SOCKET),
                 ENCLOS_E_POLICY, "guest policy does not require a single socket (SINGLE_SOCKET, bit 20)");
  ENCLOS_ENSUREF(!p->forbid_smt || !(rep->policy & ENCLOS_SNP_POLICY_SMT), ENCLOS_E_POLICY,
                 "guest policy allows SMT (bit 16)");
  ENCLOS_ENSUREF(!p->has_vmpl || rep->vmpl == p->vmpl, ENCLOS_E_POLICY, "VMPL %u, the policy expects %u",
                 rep->vmpl, p->vmpl);
  ENCLOS_ENSUREF(!p->has_measurement || memcmp(p->measurement, rep->measurement, 48) == 0,
                 ENCLOS_E_POLICY, "MEASUREMENT differs from the expected value");
  ENCLOS_ENSUREF(!p->has_host_data || memcmp(p->host_data, rep->host_data, 32) == 0, ENCLOS_E_POLICY,
                 "HOST_DATA differs from the expected value");
  enclos_hex_encode_to(h, rep->id_key_digest, 48);
  ENCLOS_ENSUREF(!p->has_id_key_digest || memcmp(p->id_key_digest, rep->id_key_digest, 48) == 0,
                 ENCLOS_E_POLICY, "ID_KEY_DIGEST %s differs from the expected value", h);
  /* AUTHOR_KEY_DIGEST is only meaningful when the ID block had an author key (flags bit 0). */
  enclos_hex_encode_to(h, rep->author_key_digest, 48);
  ENCLOS_ENSUREF(!p->has_author_key_digest ||
                     ((rep->flags & 1) && memcmp(p->author_key_digest, rep->author_key_digest, 48) == 0),
                 ENCLOS_E_POLICY, "AUTHOR_KEY_DIGEST %s (AUTHOR_KEY_EN %u) differs from the expected value", h,
                 rep->flags & 1);
  ENCLOS_ENSUREF(!p->has_report_data || memcmp(p->report_data, rep->report_data, 64) == 0,
                 ENCLOS_E_POLICY, "REPORT_DATA differs from the expected value");
  ENCLOS_ENSUREF(rep->guest_svn >= p->min_guest_svn, ENCLOS_E_POLICY, "GUEST_SVN %u below minimum %u",
                 rep->guest_svn, p->min_guest_svn);
  ENCLOS_TRY(check_min_tcb(p, rep->reported_tcb, strcmp(s->r->snp_product, "Turin") == 0));
  return ENCLOS_OK;
}

enclos_err verify__snp(const uint8_t *data, size_t size, const enclos_hw_collateral *c, int64_t at,
                       const enclos_hw_policy *p, enclos_hw_result *r) {
  sctx s = {.c = c, .at = at, .p = p, .r = r};
  r->tee = ENCLOS_HW_SNP;
  VERIFY_CHECK("parse", enclos_snp_report_parse(data, size, &r->snp));
  unsigned key = (r->snp.flags >> 2) & 7;
  VERIFY_CHECK("header", r->snp.signature_algo == 1 && key <= 1
                             ? ENCLOS_OK
                             : enclos_err_set(ENCLOS_E_UNSUPPORTED, __FILE__, __LINE__,
                                              "SNP signature algo %u / signing key %u", r->snp.signature_algo, key));
  r->snp_vlek = key == 1;
  memcpy(r->report_data, r->snp.report_data, 64);
  r->debug = (r->snp.policy & ENCLOS_SNP_POLICY_DEBUG) != 0;
  VERIFY_CHECK("leaf_certificate", find_leaf(&s));
  VERIFY_CHECK("cert_chain", check_chain(&s));
  VERIFY_CHECK("amd_crl", check_amd_crl(&s));
  VERIFY_CHECK("report_signature", check_report_sig(&s));
  VERIFY_CHECK("tcb_extensions", check_tcb(&s));
  r->verified = true;
  VERIFY_CHECK("policy", check_policy(&s));
  r->accepted = true;
  return ENCLOS_OK;
}
