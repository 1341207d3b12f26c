/* parse.c: Intel DCAP quote v3/v4/v5, SEV-SNP report and PCK-extension parsers (issue 6).
 * Layouts: ATTESTATION-FORMATS.md §3.1-3.3 and §3.5, Intel SGX/TDX DCAP Quote Library headers
 * (sgx_quote_3.h, sgx_quote_4.h, sgx_quote_5.h), AMD SEV-SNP ABI #56860 Table 23. Every length field
 * read from the evidence is checked against the buffer by enclos_reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/reader.h>

#include "verify_int.h"

#define SGX_REPORT_SIZE 384u
#define TD10_BODY_SIZE 584u
#define TD15_BODY_SIZE 648u
#define QUOTE_HEADER_SIZE 48u
#define CERT_TYPE_PCK_CHAIN 5u
#define CERT_TYPE_QE_REPORT 6u
/* Largest certification-data blob (a PEM chain of three certificates is ~3.6 KiB). */
#define QUOTE_MAX_CERT_DATA_SIZE ((size_t)64 << 10)

static enclos_err rd_sgx_report(enclos_reader *r, enclos_sgx_report *o) {
  ENCLOS_TRY(enclos_rd_copy(r, o->cpusvn, 16));
  ENCLOS_TRY(enclos_rd_u32le(r, &o->miscselect));
  ENCLOS_TRY(enclos_rd_skip(r, 12));
  ENCLOS_TRY(enclos_rd_copy(r, o->isv_ext_prod_id, 16));
  ENCLOS_TRY(enclos_rd_copy(r, o->attributes, 16));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrenclave, 32));
  ENCLOS_TRY(enclos_rd_skip(r, 32));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrsigner, 32));
  ENCLOS_TRY(enclos_rd_skip(r, 32));
  ENCLOS_TRY(enclos_rd_copy(r, o->config_id, 64));
  ENCLOS_TRY(enclos_rd_u16le(r, &o->isv_prod_id));
  ENCLOS_TRY(enclos_rd_u16le(r, &o->isv_svn));
  ENCLOS_TRY(enclos_rd_u16le(r, &o->config_svn));
  ENCLOS_TRY(enclos_rd_skip(r, 42));
  ENCLOS_TRY(enclos_rd_copy(r, o->isv_family_id, 16));
  return enclos_rd_copy(r, o->report_data, 64);
}

static enclos_err rd_td_report(enclos_reader *r, bool tdx15, enclos_td_report *o) {
  ENCLOS_TRY(enclos_rd_copy(r, o->tee_tcb_svn, 16));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrseam, 48));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrsignerseam, 48));
  ENCLOS_TRY(enclos_rd_u64le(r, &o->seam_attributes));
  ENCLOS_TRY(enclos_rd_u64le(r, &o->td_attributes));
  ENCLOS_TRY(enclos_rd_u64le(r, &o->xfam));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrtd, 48));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrconfigid, 48));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrowner, 48));
  ENCLOS_TRY(enclos_rd_copy(r, o->mrownerconfig, 48));
  for (int i = 0; i < 4; i++) ENCLOS_TRY(enclos_rd_copy(r, o->rtmr[i], 48));
  ENCLOS_TRY(enclos_rd_copy(r, o->report_data, 64));
  o->tdx15 = tdx15;
  if (tdx15) {
    ENCLOS_TRY(enclos_rd_copy(r, o->tee_tcb_svn2, 16));
    ENCLOS_TRY(enclos_rd_copy(r, o->mrservicetd, 48));
  }
  return ENCLOS_OK;
}

/* Type-5 certification data: a PEM chain, optionally NUL-terminated (§3.3). */
static enclos_err rd_pck_chain(enclos_reader *r, enclos_intel_quote *q) {
  uint16_t type;
  uint32_t size;
  ENCLOS_TRY(enclos_rd_u16le(r, &type));
  ENCLOS_ENSUREF(type == CERT_TYPE_PCK_CHAIN, ENCLOS_E_UNSUPPORTED,
                 "quote certification data type %u (want 5 = PCK chain)", type);
  ENCLOS_TRY(enclos_rd_u32le(r, &size));
  ENCLOS_ENSUREF(size > 0 && size <= QUOTE_MAX_CERT_DATA_SIZE, ENCLOS_E_LIMIT,
                 "quote PCK chain size %u", size);
  const uint8_t *pem;
  ENCLOS_TRY(enclos_rd_bytes(r, size, &pem));
  size_t n = size;
  if (pem[n - 1] == 0) n--;
  ENCLOS_ENSUREF(n > 0 && memchr(pem, 0, n) == NULL, ENCLOS_E_MALFORMED,
                 "quote PCK chain: NUL byte inside the PEM text");
  q->pck_chain_pem = pem;
  q->pck_chain_pem_size = n;
  return ENCLOS_OK;
}

static enclos_err rd_qe_part(enclos_reader *r, enclos_intel_quote *q) {
  ENCLOS_TRY(enclos_rd_bytes(r, SGX_REPORT_SIZE, &q->qe_report_raw));
  enclos_reader sub;
  enclos_rd_init(&sub, q->qe_report_raw, SGX_REPORT_SIZE);
  ENCLOS_TRY(rd_sgx_report(&sub, &q->qe_report));
  ENCLOS_TRY(enclos_rd_copy(r, q->qe_report_sig, 64));
  uint16_t n;
  ENCLOS_TRY(enclos_rd_u16le(r, &n));
  ENCLOS_ENSUREF(n <= ENCLOS_QUOTE_MAX_AUTH_SIZE, ENCLOS_E_LIMIT, "QE auth data size %u", n);
  ENCLOS_TRY(enclos_rd_bytes(r, n, &q->qe_auth));
  q->qe_auth_size = n;
  return rd_pck_chain(r, q);
}

enclos_err enclos_intel_quote_parse(const void *data, size_t size, enclos_intel_quote *q) {
  ENCLOS_ENSUREF(data != NULL && q != NULL, ENCLOS_E_INVAL, "quote parse: NULL argument");
  ENCLOS_ENSUREF(size <= ENCLOS_QUOTE_MAX_SIZE, ENCLOS_E_LIMIT, "quote of %zu bytes", size);
  memset(q, 0, sizeof *q);
  enclos_reader r;
  enclos_rd_init(&r, data, size);
  ENCLOS_TRY(enclos_rd_u16le(&r, &q->version));
  ENCLOS_TRY(enclos_rd_u16le(&r, &q->key_type));
  ENCLOS_TRY(enclos_rd_u32le(&r, &q->tee_type));
  ENCLOS_TRY(enclos_rd_u16le(&r, &q->qe_svn));
  ENCLOS_TRY(enclos_rd_u16le(&r, &q->pce_svn));
  ENCLOS_TRY(enclos_rd_copy(&r, q->qe_vendor_id, 16));
  ENCLOS_TRY(enclos_rd_copy(&r, q->user_data, 20));
  ENCLOS_ENSUREF(q->version >= 3 && q->version <= 5, ENCLOS_E_UNSUPPORTED, "quote version %u",
                 q->version);
  ENCLOS_ENSUREF(q->key_type == 2, ENCLOS_E_UNSUPPORTED,
                 "attestation key type %u (want 2 = ECDSA P-256)", q->key_type);
  if (q->version == 3) {
    ENCLOS_ENSUREF(q->tee_type == 0, ENCLOS_E_MALFORMED, "v3 quote with TEE type 0x%x", q->tee_type);
    q->body_type = 1;
    ENCLOS_TRY(rd_sgx_report(&r, &q->enclave));
  } else if (q->version == 4) {
    ENCLOS_ENSUREF(q->tee_type == 0x81, ENCLOS_E_UNSUPPORTED, "v4 quote with TEE type 0x%x",
                   q->tee_type);
    q->body_type = 2;
    ENCLOS_TRY(rd_td_report(&r, false, &q->td));
  } else {
    uint32_t body_size;
    ENCLOS_TRY(enclos_rd_u16le(&r, &q->body_type));
    ENCLOS_TRY(enclos_rd_u32le(&r, &body_size));
    uint32_t want = q->body_type == 1 ? SGX_REPORT_SIZE
                    : q->body_type == 2 ? TD10_BODY_SIZE
                    : q->body_type == 3 ? TD15_BODY_SIZE
                                        : 0;
    ENCLOS_ENSUREF(want != 0, ENCLOS_E_UNSUPPORTED, "v5 quote body type %u", q->body_type);
    ENCLOS_ENSUREF(body_size == want, ENCLOS_E_MALFORMED, "v5 body type %u with size %u",
                   q->body_type, body_size);
    ENCLOS_ENSUREF((q->body_type == 1) == (q->tee_type == 0) &&
                       (q->tee_type == 0 || q->tee_type == 0x81),
                   ENCLOS_E_MALFORMED, "v5 TEE type 0x%x inconsistent with body type %u",
                   q->tee_type, q->body_type);
    if (q->body_type == 1) ENCLOS_TRY(rd_sgx_report(&r, &q->enclave));
    else ENCLOS_TRY(rd_td_report(&r, q->body_type == 3, &q->td));
  }
  q->signed_region = data;
  q->signed_size = enclos_rd_offset(&r);
  uint32_t sig_len;
  ENCLOS_TRY(enclos_rd_u32le(&r, &sig_len));
  enclos_reader s;
  ENCLOS_TRY(enclos_rd_sub(&r, sig_len, &s));
  ENCLOS_TRY(enclos_rd_copy(&s, q->signature, 64));
  ENCLOS_TRY(enclos_rd_copy(&s, q->attest_key, 64));
  if (q->version == 3) {
    ENCLOS_TRY(rd_qe_part(&s, q));
  } else {
    uint16_t type;
    uint32_t csize;
    ENCLOS_TRY(enclos_rd_u16le(&s, &type));
    ENCLOS_ENSUREF(type == CERT_TYPE_QE_REPORT, ENCLOS_E_UNSUPPORTED,
                   "quote certification data type %u (want 6 = QE report)", type);
    ENCLOS_TRY(enclos_rd_u32le(&s, &csize));
    enclos_reader c;
    ENCLOS_TRY(enclos_rd_sub(&s, csize, &c));
    ENCLOS_TRY(rd_qe_part(&c, q));
    ENCLOS_ENSUREF(enclos_rd_eof(&c), ENCLOS_E_MALFORMED, "%zu stray bytes in QE certification data",
                   enclos_rd_remaining(&c));
  }
  ENCLOS_ENSUREF(enclos_rd_eof(&s), ENCLOS_E_MALFORMED, "%zu stray bytes in quote signature data",
                 enclos_rd_remaining(&s));
  q->size = enclos_rd_offset(&r);
  q->trailing = size - q->size;
  return ENCLOS_OK;
}

/* Reverses a little-endian 72-byte field into a 48-byte big-endian P-384 scalar; the 24 padding
 * bytes must be zero (AMD SEV-SNP ABI Table 134, ECDSA signature format). */
static enclos_err le_to_be48(const uint8_t *le, uint8_t *be) {
  for (size_t i = 48; i < 72; i++)
    ENCLOS_ENSUREF(le[i] == 0, ENCLOS_E_MALFORMED, "SNP signature component padding not zero");
  for (size_t i = 0; i < 48; i++) be[i] = le[47 - i];
  return ENCLOS_OK;
}

enclos_err enclos_snp_report_parse(const void *data, size_t size, enclos_snp_report *o) {
  ENCLOS_ENSUREF(data != NULL && o != NULL, ENCLOS_E_INVAL, "SNP parse: NULL argument");
  ENCLOS_ENSUREF(size == ENCLOS_SNP_REPORT_SIZE, ENCLOS_E_MALFORMED,
                 "SNP report of %zu bytes (want 1184)", size);
  memset(o, 0, sizeof *o);
  enclos_reader r;
  enclos_rd_init(&r, data, size);
  ENCLOS_TRY(enclos_rd_u32le(&r, &o->version));
  ENCLOS_ENSUREF(o->version >= 2, ENCLOS_E_UNSUPPORTED, "SNP report version %u", o->version);
  ENCLOS_TRY(enclos_rd_u32le(&r, &o->guest_svn));
  ENCLOS_TRY(enclos_rd_u64le(&r, &o->policy));
  ENCLOS_TRY(enclos_rd_copy(&r, o->family_id, 16));
  ENCLOS_TRY(enclos_rd_copy(&r, o->image_id, 16));
  ENCLOS_TRY(enclos_rd_u32le(&r, &o->vmpl));
  ENCLOS_TRY(enclos_rd_u32le(&r, &o->signature_algo));
  ENCLOS_TRY(enclos_rd_u64le(&r, &o->current_tcb));
  ENCLOS_TRY(enclos_rd_u64le(&r, &o->platform_info));
  ENCLOS_TRY(enclos_rd_u32le(&r, &o->flags));
  ENCLOS_TRY(enclos_rd_skip(&r, 4));
  ENCLOS_TRY(enclos_rd_copy(&r, o->report_data, 64));
  ENCLOS_TRY(enclos_rd_copy(&r, o->measurement, 48));
  ENCLOS_TRY(enclos_rd_copy(&r, o->host_data, 32));
  ENCLOS_TRY(enclos_rd_copy(&r, o->id_key_digest, 48));
  ENCLOS_TRY(enclos_rd_copy(&r, o->author_key_digest, 48));
  ENCLOS_TRY(enclos_rd_copy(&r, o->report_id, 32));
  ENCLOS_TRY(enclos_rd_copy(&r, o->report_id_ma, 32));
  ENCLOS_TRY(enclos_rd_u64le(&r, &o->reported_tcb));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->cpuid_fam_id));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->cpuid_mod_id));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->cpuid_step));
  ENCLOS_TRY(enclos_rd_skip(&r, 0x1A0 - 0x18B));
  ENCLOS_TRY(enclos_rd_copy(&r, o->chip_id, 64));
  ENCLOS_TRY(enclos_rd_u64le(&r, &o->committed_tcb));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->current_build));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->current_minor));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->current_major));
  ENCLOS_TRY(enclos_rd_skip(&r, 1));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->committed_build));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->committed_minor));
  ENCLOS_TRY(enclos_rd_u8(&r, &o->committed_major));
  ENCLOS_TRY(enclos_rd_skip(&r, 1));
  ENCLOS_TRY(enclos_rd_u64le(&r, &o->launch_tcb));
  ENCLOS_TRY(enclos_rd_skip(&r, 0x2A0 - 0x1F8));
  const uint8_t *sr, *ss;
  ENCLOS_TRY(enclos_rd_bytes(&r, 72, &sr));
  ENCLOS_TRY(enclos_rd_bytes(&r, 72, &ss));
  ENCLOS_TRY(le_to_be48(sr, o->sig_r));
  ENCLOS_TRY(le_to_be48(ss, o->sig_s));
  o->raw = data;
  return ENCLOS_OK;
}

/* ---- A bounded DER walker (X.690 §8.1) for the PCK SGX extension ---- */

#define DER_MAX_DEPTH 4
#define PCK_EXT_MAX_ITEMS 32

static enclos_err der_tlv(enclos_reader *r, uint8_t *tag, enclos_reader *val) {
  uint8_t t, l0;
  ENCLOS_TRY(enclos_rd_u8(r, &t));
  ENCLOS_TRY(enclos_rd_u8(r, &l0));
  size_t len = l0;
  if (l0 & 0x80) {
    unsigned n = l0 & 0x7f;
    ENCLOS_ENSUREF(n >= 1 && n <= 3, ENCLOS_E_MALFORMED, "DER length of %u bytes", n);
    len = 0;
    for (unsigned i = 0; i < n; i++) {
      uint8_t b;
      ENCLOS_TRY(enclos_rd_u8(r, &b));
      len = (len << 8) | b;
    }
  }
  *tag = t;
  return enclos_rd_sub(r, len, val);
}

/* Dotted OID from DER contents, for comparison. */
static enclos_err der_oid(enclos_reader *v, char *out, size_t cap) {
  size_t pos = 0;
  uint64_t acc = 0;
  bool first = true;
  while (!enclos_rd_eof(v)) {
    uint8_t b;
    ENCLOS_TRY(enclos_rd_u8(v, &b));
    ENCLOS_ENSUREF(acc < (UINT64_C(1) << 50), ENCLOS_E_MALFORMED, "OID arc too large");
    acc = (acc << 7) | (b & 0x7f);
    if (b & 0x80) continue;
    int n;
    if (first) {
      uint64_t a = acc < 80 ? acc / 40 : 2;
      n = snprintf(out + pos, cap - pos, "%llu.%llu", (unsigned long long)a,
                   (unsigned long long)(acc - a * 40));
      first = false;
    } else {
      n = snprintf(out + pos, cap - pos, ".%llu", (unsigned long long)acc);
    }
    ENCLOS_ENSUREF(n > 0 && (size_t)n < cap - pos, ENCLOS_E_LIMIT, "OID too long");
    pos += (size_t)n;
    acc = 0;
  }
  ENCLOS_ENSUREF(!first, ENCLOS_E_MALFORMED, "empty OID");
  return ENCLOS_OK;
}

/* Non-negative INTEGER/ENUMERATED up to 16 bits; a leading 0x00 is allowed (X.690 §8.3.2). */
static enclos_err der_small_uint(uint8_t tag, enclos_reader *v, unsigned max, unsigned *out) {
  ENCLOS_ENSUREF(tag == 0x02 || tag == 0x0a, ENCLOS_E_MALFORMED, "DER tag 0x%02x (want INTEGER)", tag);
  size_t n = enclos_rd_remaining(v);
  ENCLOS_ENSUREF(n >= 1 && n <= 3, ENCLOS_E_MALFORMED, "DER INTEGER of %zu bytes", n);
  ENCLOS_ENSUREF((v->cur[0] & 0x80) == 0, ENCLOS_E_MALFORMED, "negative DER INTEGER");
  unsigned x = 0;
  while (!enclos_rd_eof(v)) {
    uint8_t b;
    ENCLOS_TRY(enclos_rd_u8(v, &b));
    x = (x << 8) | b;
  }
  ENCLOS_ENSUREF(x <= max, ENCLOS_E_RANGE, "DER INTEGER %u > %u", x, max);
  *out = x;
  return ENCLOS_OK;
}

static enclos_err der_octets(uint8_t tag, enclos_reader *v, uint8_t *out, size_t n) {
  ENCLOS_ENSUREF(tag == 0x04, ENCLOS_E_MALFORMED, "DER tag 0x%02x (want OCTET STRING)", tag);
  ENCLOS_ENSUREF(enclos_rd_remaining(v) == n, ENCLOS_E_MALFORMED, "OCTET STRING of %zu bytes (want %zu)",
                 enclos_rd_remaining(v), n);
  return enclos_rd_copy(v, out, n);
}

#define SGX_OID "1.2.840.113741.1.13.1"

static enclos_err pck_tcb(enclos_reader *seq, enclos_pck_ext *o, unsigned *seen) {
  for (unsigned i = 0; i < PCK_EXT_MAX_ITEMS && !enclos_rd_eof(seq); i++) {
    uint8_t tag, t2;
    enclos_reader item, oidr, val;
    ENCLOS_TRY(der_tlv(seq, &tag, &item));
    ENCLOS_ENSUREF(tag == 0x30, ENCLOS_E_MALFORMED, "PCK TCB item is not a SEQUENCE");
    ENCLOS_TRY(der_tlv(&item, &t2, &oidr));
    ENCLOS_ENSUREF(t2 == 0x06, ENCLOS_E_MALFORMED, "PCK TCB item without OID");
    char oid[64];
    ENCLOS_TRY(der_oid(&oidr, oid, sizeof oid));
    ENCLOS_TRY(der_tlv(&item, &t2, &val));
    const char *pfx = SGX_OID ".2.";
    if (strncmp(oid, pfx, strlen(pfx)) != 0) continue;
    int k = atoi(oid + strlen(pfx));
    if (k >= 1 && k <= 16) {
      unsigned x;
      ENCLOS_TRY(der_small_uint(t2, &val, 255, &x));
      o->comp_svn[k - 1] = (uint8_t)x;
      *seen |= 1u << k;
    } else if (k == 17) {
      unsigned x;
      ENCLOS_TRY(der_small_uint(t2, &val, 65535, &x));
      o->pcesvn = (uint16_t)x;
      *seen |= 1u << 17;
    } else if (k == 18) {
      ENCLOS_TRY(der_octets(t2, &val, o->cpusvn, 16));
      *seen |= 1u << 18;
    }
  }
  ENCLOS_ENSUREF(enclos_rd_eof(seq), ENCLOS_E_LIMIT, "too many PCK TCB items");
  return ENCLOS_OK;
}

enclos_err enclos_pck_ext_parse(const void *der, size_t size, enclos_pck_ext *o) {
  ENCLOS_ENSUREF(der != NULL && o != NULL, ENCLOS_E_INVAL, "PCK ext parse: NULL argument");
  memset(o, 0, sizeof *o);
  o->sgx_type = -1;
  enclos_reader r, seq;
  enclos_rd_init(&r, der, size);
  uint8_t tag;
  ENCLOS_TRY(der_tlv(&r, &tag, &seq));
  ENCLOS_ENSUREF(tag == 0x30 && enclos_rd_eof(&r), ENCLOS_E_MALFORMED, "PCK SGX extension not a SEQUENCE");
  unsigned seen = 0, tcb_seen = 0;
  for (unsigned i = 0; i < PCK_EXT_MAX_ITEMS && !enclos_rd_eof(&seq); i++) {
    enclos_reader item, oidr, val;
    uint8_t t2;
    ENCLOS_TRY(der_tlv(&seq, &tag, &item));
    ENCLOS_ENSUREF(tag == 0x30, ENCLOS_E_MALFORMED, "PCK extension item is not a SEQUENCE");
    ENCLOS_TRY(der_tlv(&item, &t2, &oidr));
    ENCLOS_ENSUREF(t2 == 0x06, ENCLOS_E_MALFORMED, "PCK extension item without OID");
    char oid[64];
    ENCLOS_TRY(der_oid(&oidr, oid, sizeof oid));
    ENCLOS_TRY(der_tlv(&item, &t2, &val));
    if (strncmp(oid, SGX_OID ".", strlen(SGX_OID) + 1) != 0) continue;
    const char *rest = oid + strlen(SGX_OID) + 1;
    if (strcmp(rest, "1") == 0) {
      ENCLOS_TRY(der_octets(t2, &val, o->ppid, 16));
      seen |= 1u << 1;
    } else if (strcmp(rest, "2") == 0) {
      ENCLOS_ENSUREF(t2 == 0x30, ENCLOS_E_MALFORMED, "PCK TCB is not a SEQUENCE");
      ENCLOS_TRY(pck_tcb(&val, o, &tcb_seen));
      seen |= 1u << 2;
    } else if (strcmp(rest, "3") == 0) {
      ENCLOS_TRY(der_octets(t2, &val, o->pceid, 2));
      seen |= 1u << 3;
    } else if (strcmp(rest, "4") == 0) {
      ENCLOS_TRY(der_octets(t2, &val, o->fmspc, 6));
      seen |= 1u << 4;
    } else if (strcmp(rest, "5") == 0) {
      unsigned x;
      ENCLOS_TRY(der_small_uint(t2, &val, 2, &x));
      o->sgx_type = (int)x;
      seen |= 1u << 5;
    }
  }
  ENCLOS_ENSUREF(enclos_rd_eof(&seq), ENCLOS_E_LIMIT, "too many PCK extension items");
  ENCLOS_ENSUREF((seen & 0x3e) == 0x3e, ENCLOS_E_MALFORMED,
                 "PCK SGX extension lacks PPID/TCB/PCE-ID/FMSPC/SGX type (mask 0x%x)", seen);
  ENCLOS_ENSUREF(tcb_seen == 0x7fffeu, ENCLOS_E_MALFORMED, "PCK TCB lacks components (mask 0x%x)",
                 tcb_seen);
  return ENCLOS_OK;
}
