/* evidence.c: the evidence extension value (docs/attestation.md §5).
 *
 *   Intel form (sgx, tdx):      #6.60000([quote: bstr, claims: bstr])
 *   typed form (sev-snp, sim):  #6.60001([tee: tstr, evidence: bstr, claims: bstr, endorsements: bstr])
 *
 * The parser is strict: one definite array of exactly that shape, nothing after it, every size
 * under its limit. For the Intel form the TEE is read from the quote header (version 3: sgx,
 * 4/5 with TEE type 0x81: tdx).
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include <enclos/ratls.h>

#include "ratls_int.h"

static cbor_item_t *bstr(const uint8_t *p, size_t n) { return cbor_build_bytestring(p, n); }

enclos_err enclos_ratls_evidence_encode(const enclos_ratls_evidence *ev, enclos_buf *out) {
  ENCLOS_ENSURE_REF(ev);
  bool intel = ev->tee == ENCLOS_TEE_SGX || ev->tee == ENCLOS_TEE_TDX;
  enclos_err rc = ENCLOS_OK;
  unsigned char *bytes = NULL;
  size_t cap = 0;
  cbor_item_t *arr = cbor_new_definite_array(intel ? 2 : 4);
  cbor_item_t *items[4] = {NULL, NULL, NULL, NULL};
  cbor_item_t *tag = NULL;
  ENCLOS_GUARD_ENSUREF(arr != NULL, ENCLOS_E_NOMEM, "evidence array");
  size_t n = 0;
  if (!intel) items[n++] = cbor_build_string(enclos_tee_kind_name(ev->tee));
  items[n++] = bstr(ev->evidence, ev->evidence_size);
  items[n++] = bstr(ev->claims, ev->claims_size);
  if (!intel) items[n++] = bstr(ev->endorsements ? ev->endorsements : (const uint8_t *)"", ev->endorsements_size);
  for (size_t i = 0; i < n; i++)
    ENCLOS_GUARD_ENSUREF(items[i] && cbor_array_push(arr, items[i]), ENCLOS_E_NOMEM, "evidence item");
  tag = cbor_build_tag(intel ? ENCLOS_CBOR_TAG_INTEL : ENCLOS_CBOR_TAG_TYPED, arr);
  ENCLOS_GUARD_ENSUREF(tag != NULL, ENCLOS_E_NOMEM, "evidence tag");
  size_t len = cbor_serialize_alloc(tag, &bytes, &cap);
  ENCLOS_GUARD_ENSUREF(len > 0 && len <= ENCLOS_RATLS_MAX_EXT, ENCLOS_E_LIMIT, "evidence extension size");
  ENCLOS_GUARD(enclos_buf_append(out, bytes, len));
cleanup:
  for (size_t i = 0; i < 4; i++)
    if (items[i]) cbor_decref(&items[i]);
  if (arr) cbor_decref(&arr);
  if (tag) cbor_decref(&tag);
  free(bytes);
  return rc;
}

/* A CBOR head (RFC 8949 §3): major type, then the shortest argument encoding only (§4.2.1).
 * Parsed with our reader rather than libcbor so that the result aliases the input. */
static enclos_err head(enclos_reader *r, uint8_t major, uint64_t *val) {
  uint8_t ib;
  ENCLOS_TRY(enclos_rd_u8(r, &ib));
  ENCLOS_ENSUREF((ib >> 5) == major, ENCLOS_E_MALFORMED, "evidence: CBOR major type %u at offset %zu, want %u",
                 ib >> 5, enclos_rd_offset(r) - 1, major);
  uint8_t ai = ib & 0x1f;
  if (ai < 24) {
    *val = ai;
    return ENCLOS_OK;
  }
  uint64_t v = 0, min = 0;
  if (ai == 24) {
    uint8_t x;
    ENCLOS_TRY(enclos_rd_u8(r, &x));
    v = x;
    min = 24;
  } else if (ai == 25) {
    uint16_t x;
    ENCLOS_TRY(enclos_rd_u16be(r, &x));
    v = x;
    min = 0x100;
  } else if (ai == 26) {
    uint32_t x;
    ENCLOS_TRY(enclos_rd_u32be(r, &x));
    v = x;
    min = 0x10000;
  } else if (ai == 27) {
    ENCLOS_TRY(enclos_rd_u64be(r, &v));
    min = 0x100000000ull;
  } else {
    ENCLOS_FAILF(ENCLOS_E_MALFORMED, "evidence: indefinite or reserved CBOR length at offset %zu",
                 enclos_rd_offset(r) - 1);
  }
  ENCLOS_ENSUREF(v >= min, ENCLOS_E_MALFORMED, "evidence: non-minimal CBOR head at offset %zu",
                 enclos_rd_offset(r));
  *val = v;
  return ENCLOS_OK;
}

static enclos_err rd_bstr(enclos_reader *r, const char *what, size_t max, const uint8_t **p, size_t *n) {
  uint64_t len;
  ENCLOS_TRY(head(r, 2, &len));
  ENCLOS_ENSUREF(len <= max, ENCLOS_E_LIMIT, "evidence: %s of %llu bytes (limit %zu)", what,
                 (unsigned long long)len, max);
  ENCLOS_TRY(enclos_rd_bytes(r, (size_t)len, p));
  *n = (size_t)len;
  return ENCLOS_OK;
}

enclos_err ratls__quote_tee(const uint8_t *q, size_t n, enclos_tee_kind *out) {
  ENCLOS_ENSUREF(n >= 48, ENCLOS_E_TRUNCATED, "quote of %zu bytes has no header", n);
  uint16_t ver = (uint16_t)(q[0] | q[1] << 8);
  uint32_t tee = (uint32_t)q[4] | (uint32_t)q[5] << 8 | (uint32_t)q[6] << 16 | (uint32_t)q[7] << 24;
  if (ver == 3 && tee == 0) *out = ENCLOS_TEE_SGX;
  else if ((ver == 4 || ver == 5) && tee == 0x81) *out = ENCLOS_TEE_TDX;
  else if ((ver == 4 || ver == 5) && tee == 0) *out = ENCLOS_TEE_SGX;
  else ENCLOS_FAILF(ENCLOS_E_UNSUPPORTED, "quote version %u TEE type 0x%x is not SGX or TDX", ver, tee);
  return ENCLOS_OK;
}

enclos_err enclos_ratls_evidence_parse(const void *data, size_t size, enclos_ratls_evidence *out) {
  ENCLOS_ENSURE_REF(data);
  ENCLOS_ENSUREF(size <= ENCLOS_RATLS_MAX_EXT, ENCLOS_E_LIMIT, "evidence extension of %zu bytes", size);
  memset(out, 0, sizeof(*out));
  enclos_reader r;
  enclos_rd_init(&r, data, size);
  uint64_t tag, n;
  ENCLOS_TRY(head(&r, 6, &tag));
  ENCLOS_ENSUREF(tag == ENCLOS_CBOR_TAG_INTEL || tag == ENCLOS_CBOR_TAG_TYPED, ENCLOS_E_UNSUPPORTED,
                 "evidence: CBOR tag %llu (want 60000 or 60001)", (unsigned long long)tag);
  ENCLOS_TRY(head(&r, 4, &n));
  if (tag == ENCLOS_CBOR_TAG_INTEL) {
    ENCLOS_ENSUREF(n == 2, ENCLOS_E_MALFORMED, "evidence: tag(60000) array has %llu items, want 2",
                   (unsigned long long)n);
    ENCLOS_TRY(rd_bstr(&r, "quote", ENCLOS_TEE_MAX_EVIDENCE, &out->evidence, &out->evidence_size));
    ENCLOS_TRY(rd_bstr(&r, "claims", ENCLOS_CLAIMS_MAX_SIZE, &out->claims, &out->claims_size));
    ENCLOS_TRY(ratls__quote_tee(out->evidence, out->evidence_size, &out->tee));
  } else {
    ENCLOS_ENSUREF(n == 4, ENCLOS_E_MALFORMED, "evidence: tag(60001) array has %llu items, want 4",
                   (unsigned long long)n);
    uint64_t tl;
    const uint8_t *t;
    ENCLOS_TRY(head(&r, 3, &tl));
    ENCLOS_ENSUREF(tl <= 16, ENCLOS_E_MALFORMED, "evidence: TEE name too long");
    ENCLOS_TRY(enclos_rd_bytes(&r, (size_t)tl, &t));
    char name[17];
    memcpy(name, t, (size_t)tl);
    name[tl] = '\0';
    ENCLOS_TRY(enclos_tee_kind_parse(name, &out->tee));
    ENCLOS_ENSUREF(out->tee == ENCLOS_TEE_SNP || out->tee == ENCLOS_TEE_SIM, ENCLOS_E_MALFORMED,
                   "evidence: %s evidence must use tag(60000)", name);
    ENCLOS_TRY(rd_bstr(&r, "evidence", ENCLOS_TEE_MAX_EVIDENCE, &out->evidence, &out->evidence_size));
    ENCLOS_TRY(rd_bstr(&r, "claims", ENCLOS_CLAIMS_MAX_SIZE, &out->claims, &out->claims_size));
    ENCLOS_TRY(rd_bstr(&r, "endorsements", ENCLOS_TEE_MAX_EVIDENCE, &out->endorsements,
                       &out->endorsements_size));
  }
  ENCLOS_ENSUREF(enclos_rd_eof(&r), ENCLOS_E_MALFORMED, "evidence: %zu trailing bytes at offset %zu",
                 enclos_rd_remaining(&r), enclos_rd_offset(&r));
  return ENCLOS_OK;
}

enclos_err enclos_ratls_make_evidence(enclos_tee *tee, const enclos_claims *claims, enclos_buf *ext) {
  enclos_buf cb = ENCLOS_BUF_INIT, ev = ENCLOS_BUF_INIT, end = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  uint8_t rd[64];
  enclos_tee_kind kind = enclos_tee_get_kind(tee);
  ENCLOS_GUARD(enclos_claims_encode(claims, &cb));
  ENCLOS_GUARD(enclos_claims_report_data(kind, cb.data, cb.len, rd));
  ENCLOS_GUARD(enclos_tee_evidence(tee, rd, &ev));
  ENCLOS_GUARD(enclos_tee_endorsements(tee, &end));
  enclos_ratls_evidence e = {.tee = kind, .evidence = ev.data, .evidence_size = ev.len,
                             .claims = cb.data, .claims_size = cb.len,
                             .endorsements = end.data, .endorsements_size = end.len};
  ENCLOS_GUARD(enclos_ratls_evidence_encode(&e, ext));
cleanup:
  enclos_buf_free(&cb);
  enclos_buf_free(&ev);
  enclos_buf_free(&end);
  return rc;
}
