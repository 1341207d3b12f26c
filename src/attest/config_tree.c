/* config_tree.c: the configuration tree (docs/attestation.md §4).
 *
 *   value_hash = SHA-256(value)
 *   leaf       = SHA-256(0x00 ‖ u32be(len(name)) ‖ name ‖ value_hash)
 *   node       = SHA-256(0x01 ‖ left ‖ right)
 *   root       = MTH over the leaves sorted bytewise by name, split as RFC 9162 §2.1.1 does
 *                (left subtree holds the largest power of two < n leaves); empty tree: SHA-256("")
 *
 * Proofs are RFC 9162 §2.1.3 audit paths with our leaf/node hashes.
 *
 * 1. Building   2. Root and proofs   3. Verification   4. Manifest
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include <enclos/attest.h>
#include <enclos/mem.h>

#include "attest_int.h"

typedef struct leaf {
  char *name;
  uint8_t value_hash[32];
  uint8_t hash[32];
} leaf;

struct enclos_config_tree {
  leaf *leaves;
  size_t count, cap;
  bool sorted;
};

/* 1. Building ------------------------------------------------------------------------ */

enclos_err enclos_config_new(enclos_config_tree **out) {
  *out = enclos_calloc(1, sizeof(**out));
  ENCLOS_ENSURE(*out != NULL, ENCLOS_E_NOMEM);
  (*out)->sorted = true;
  return ENCLOS_OK;
}

void enclos_config_free(enclos_config_tree *t) {
  if (!t) return;
  for (size_t i = 0; i < t->count; i++) enclos_free(t->leaves[i].name);
  enclos_free(t->leaves);
  enclos_free(t);
}

size_t enclos_config_count(const enclos_config_tree *t) { return t->count; }

enclos_err enclos_config_leaf_hash(const char *name, const uint8_t value_hash[32], uint8_t out[32]) {
  size_t n = strlen(name);
  ENCLOS_ENSUREF(n > 0 && n <= ENCLOS_CONFIG_MAX_NAME, ENCLOS_E_RANGE, "leaf name of %zu bytes", n);
  uint8_t buf[1 + 4 + ENCLOS_CONFIG_MAX_NAME + 32];
  buf[0] = 0x00;
  buf[1] = 0;
  buf[2] = 0;
  buf[3] = (uint8_t)(n >> 8);
  buf[4] = (uint8_t)n;
  memcpy(buf + 5, name, n);
  memcpy(buf + 5 + n, value_hash, 32);
  return enclos_hash(ENCLOS_SHA256, buf, 5 + n + 32, out);
}

enclos_err enclos_config_add_hash(enclos_config_tree *t, const char *name, const uint8_t value_hash[32]) {
  ENCLOS_ENSURE_REF(t);
  ENCLOS_ENSURE_REF(name);
  ENCLOS_ENSUREF(t->count < ENCLOS_CONFIG_MAX_LEAVES, ENCLOS_E_LIMIT, "more than %d configuration leaves",
                 ENCLOS_CONFIG_MAX_LEAVES);
  for (size_t i = 0; i < t->count; i++)
    ENCLOS_ENSUREF(strcmp(t->leaves[i].name, name) != 0, ENCLOS_E_EXISTS,
                   "configuration leaf '%s' already exists", name);
  uint8_t h[32];
  ENCLOS_TRY(enclos_config_leaf_hash(name, value_hash, h));
  if (t->count == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    leaf *n = enclos_realloc(t->leaves, cap * sizeof(*n));
    ENCLOS_ENSURE(n != NULL, ENCLOS_E_NOMEM);
    t->leaves = n;
    t->cap = cap;
  }
  leaf *l = &t->leaves[t->count];
  l->name = enclos_strdup(name);
  ENCLOS_ENSURE(l->name != NULL, ENCLOS_E_NOMEM);
  memcpy(l->value_hash, value_hash, 32);
  memcpy(l->hash, h, 32);
  t->count++;
  t->sorted = false;
  return ENCLOS_OK;
}

enclos_err enclos_config_add(enclos_config_tree *t, const char *name, const void *value, size_t size) {
  uint8_t vh[32];
  ENCLOS_TRY(enclos_hash(ENCLOS_SHA256, value, size, vh));
  return enclos_config_add_hash(t, name, vh);
}

/* strcmp compares as unsigned char (C11 §7.24.4): bytewise order of the UTF-8 names. */
static int by_name(const void *a, const void *b) {
  return strcmp(((const leaf *)a)->name, ((const leaf *)b)->name);
}

static void sort(enclos_config_tree *t) {
  if (!t->sorted && t->count > 1) qsort(t->leaves, t->count, sizeof(leaf), by_name);
  t->sorted = true;
}

/* 2. Root and proofs ----------------------------------------------------------------- */

static enclos_err node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32]) {
  uint8_t buf[65];
  buf[0] = 0x01;
  memcpy(buf + 1, l, 32);
  memcpy(buf + 33, r, 32);
  return enclos_hash(ENCLOS_SHA256, buf, sizeof(buf), out);
}

static size_t split(size_t n) {
  size_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

/* MTH(D[lo:hi]); recursion depth is log2(ENCLOS_CONFIG_MAX_LEAVES). */
static enclos_err mth(const enclos_config_tree *t, size_t lo, size_t hi, uint8_t out[32]) {
  if (hi - lo == 1) {
    memcpy(out, t->leaves[lo].hash, 32);
    return ENCLOS_OK;
  }
  size_t k = split(hi - lo);
  uint8_t l[32], r[32];
  ENCLOS_TRY(mth(t, lo, lo + k, l));
  ENCLOS_TRY(mth(t, lo + k, hi, r));
  return node(l, r, out);
}

enclos_err enclos_config_root(enclos_config_tree *t, uint8_t out[32]) {
  ENCLOS_ENSURE_REF(t);
  sort(t);
  if (t->count == 0) return enclos_hash(ENCLOS_SHA256, "", 0, out);
  return mth(t, 0, t->count, out);
}

/* PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, appended innermost first. */
static enclos_err path(const enclos_config_tree *t, size_t m, size_t lo, size_t hi, enclos_buf *out) {
  if (hi - lo <= 1) return ENCLOS_OK;
  size_t k = split(hi - lo);
  uint8_t h[32];
  if (m < k) {
    ENCLOS_TRY(path(t, m, lo, lo + k, out));
    ENCLOS_TRY(mth(t, lo + k, hi, h));
  } else {
    ENCLOS_TRY(path(t, m - k, lo + k, hi, out));
    ENCLOS_TRY(mth(t, lo, lo + k, h));
  }
  return enclos_buf_append(out, h, 32);
}

enclos_err enclos_config_prove(enclos_config_tree *t, const char *name, size_t *index, enclos_buf *out) {
  ENCLOS_ENSURE_REF(t);
  sort(t);
  for (size_t i = 0; i < t->count; i++) {
    if (strcmp(t->leaves[i].name, name) == 0) {
      *index = i;
      return path(t, i, 0, t->count, out);
    }
  }
  ENCLOS_FAILF(ENCLOS_E_NOT_FOUND, "no configuration leaf '%s'", name);
}

/* 3. Verification (RFC 9162 §2.1.3.2) ----------------------------------------------- */

enclos_err enclos_config_verify(const char *name, const uint8_t value_hash[32], size_t index,
                                size_t count, const uint8_t *p, size_t path_size, const uint8_t root[32]) {
  ENCLOS_ENSUREF(index < count && count <= ENCLOS_CONFIG_MAX_LEAVES, ENCLOS_E_RANGE,
                 "leaf index %zu not below tree size %zu", index, count);
  ENCLOS_ENSUREF(path_size % 32 == 0 && path_size / 32 <= ENCLOS_CONFIG_MAX_PROOF, ENCLOS_E_MALFORMED,
                 "inclusion proof of %zu bytes", path_size);
  uint8_t r[32];
  ENCLOS_TRY(enclos_config_leaf_hash(name, value_hash, r));
  size_t fn = index, sn = count - 1;
  for (size_t i = 0; i < path_size / 32; i++) {
    const uint8_t *h = p + 32 * i;
    ENCLOS_ENSUREF(sn != 0, ENCLOS_E_VERIFY, "inclusion proof for '%s' is too long", name);
    if ((fn & 1) || fn == sn) {
      ENCLOS_TRY(node(h, r, r));
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      ENCLOS_TRY(node(r, h, r));
    }
    fn >>= 1;
    sn >>= 1;
  }
  ENCLOS_ENSUREF(sn == 0, ENCLOS_E_VERIFY, "inclusion proof for '%s' is too short", name);
  ENCLOS_ENSUREF(enclos_ct_eq(r, root, 32), ENCLOS_E_VERIFY,
                 "configuration leaf '%s' is not in the tree with this root", name);
  return ENCLOS_OK;
}

/* 4. Manifest ------------------------------------------------------------------------ */

enclos_err enclos_config_manifest(enclos_config_tree *t, enclos_buf *out) {
  ENCLOS_ENSURE_REF(t);
  sort(t);
  enclos_err rc = ENCLOS_OK;
  unsigned char *bytes = NULL;
  size_t cap = 0;
  cbor_item_t *a = cbor_new_definite_array(t->count);
  ENCLOS_GUARD_ENSUREF(a != NULL, ENCLOS_E_NOMEM, "manifest");
  for (size_t i = 0; i < t->count; i++) {
    cbor_item_t *e = cbor_new_definite_array(2);
    cbor_item_t *n = cbor_build_string(t->leaves[i].name);
    cbor_item_t *h = cbor_build_bytestring(t->leaves[i].value_hash, 32);
    bool ok = e && n && h && cbor_array_push(e, n) && cbor_array_push(e, h) && cbor_array_push(a, e);
    if (e) cbor_decref(&e);
    if (n) cbor_decref(&n);
    if (h) cbor_decref(&h);
    ENCLOS_GUARD_ENSUREF(ok, ENCLOS_E_NOMEM, "manifest entry");
  }
  size_t len = cbor_serialize_alloc(a, &bytes, &cap);
  ENCLOS_GUARD_ENSUREF(len > 0, ENCLOS_E_NOMEM, "manifest encoding");
  ENCLOS_GUARD(enclos_buf_append(out, bytes, len));
cleanup:
  free(bytes);
  if (a) cbor_decref(&a);
  return rc;
}

enclos_err enclos_config_from_manifest(const void *data, size_t size, enclos_config_tree **out) {
  ENCLOS_ENSUREF(size > 0 && size <= ENCLOS_CONFIG_MAX_MANIFEST, ENCLOS_E_LIMIT, "manifest of %zu bytes", size);
  ENCLOS_ENSUREF(attest__cbor_check(data, size) == ENCLOS_OK, ENCLOS_E_MALFORMED, "manifest: invalid CBOR structure");
  struct cbor_load_result res;
  cbor_item_t *a = cbor_load(data, size, &res);
  ENCLOS_ENSUREF(a != NULL && res.error.code == CBOR_ERR_NONE, ENCLOS_E_MALFORMED,
                 "manifest: CBOR does not parse at offset %zu", res.error.position);
  enclos_err rc = ENCLOS_OK;
  enclos_config_tree *t = NULL;
  enclos_buf again = ENCLOS_BUF_INIT;
  ENCLOS_GUARD_ENSUREF(res.read == size && cbor_isa_array(a) && cbor_array_is_definite(a),
                       ENCLOS_E_MALFORMED, "manifest: not one definite CBOR array");
  size_t n = cbor_array_size(a);
  ENCLOS_GUARD_ENSUREF(n <= ENCLOS_CONFIG_MAX_LEAVES, ENCLOS_E_LIMIT, "manifest has %zu leaves", n);
  ENCLOS_GUARD(enclos_config_new(&t));
  for (size_t i = 0; i < n; i++) {
    cbor_item_t *e = cbor_array_handle(a)[i];
    ENCLOS_GUARD_ENSUREF(cbor_isa_array(e) && cbor_array_size(e) == 2, ENCLOS_E_MALFORMED,
                         "manifest entry %zu is not [name, hash]", i);
    cbor_item_t *nm = cbor_array_handle(e)[0], *h = cbor_array_handle(e)[1];
    ENCLOS_GUARD_ENSUREF(cbor_isa_string(nm) && cbor_string_is_definite(nm) &&
                             cbor_string_length(nm) > 0 && cbor_string_length(nm) <= ENCLOS_CONFIG_MAX_NAME &&
                             cbor_isa_bytestring(h) && cbor_bytestring_is_definite(h) &&
                             cbor_bytestring_length(h) == 32,
                         ENCLOS_E_MALFORMED, "manifest entry %zu has the wrong types or sizes", i);
    char name[ENCLOS_CONFIG_MAX_NAME + 1];
    size_t len = cbor_string_length(nm);
    memcpy(name, cbor_string_handle(nm), len);
    name[len] = '\0';
    ENCLOS_GUARD_ENSUREF(strlen(name) == len, ENCLOS_E_MALFORMED, "manifest entry %zu: NUL in name", i);
    ENCLOS_GUARD_ENSUREF(i == 0 || strcmp(t->leaves[i - 1].name, name) < 0, ENCLOS_E_MALFORMED,
                         "manifest entry %zu ('%s') is out of order or repeated", i, name);
    ENCLOS_GUARD(enclos_config_add_hash(t, name, cbor_bytestring_handle(h)));
  }
  ENCLOS_GUARD(enclos_config_manifest(t, &again));
  ENCLOS_GUARD_ENSUREF(again.len == size && memcmp(again.data, data, size) == 0, ENCLOS_E_MALFORMED,
                       "manifest is not in canonical encoding");
  *out = t;
  t = NULL;
cleanup:
  enclos_config_free(t);
  enclos_buf_free(&again);
  cbor_decref(&a);
  return rc;
}
