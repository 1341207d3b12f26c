/* attest: claims encoding (deterministic, strict), report-data binding, configuration tree
 * (the worked example of docs/attestation.md §4, proofs, manifest). */
#include <string.h>

#include <enclos/attest.h>
#include <enclos/encoding.h>
#include <enclos/mem.h>

#include "test.h"

static void sample(enclos_claims *c) {
  memset(c, 0, sizeof(*c));
  CHECK_OK(enclos_claims_set_pubkey(c, "spki", 4));
  c->has_nonce = true;
  c->nonce_size = 16;
  memset(c->nonce, 0xAA, 16);
  c->has_config_root = true;
  memset(c->config_root, 0x11, 32);
  c->has_app = true;
  strcpy(c->app_name, "hello");
  memset(c->app_code_hash, 0x22, 32);
  memset(c->app_config_root, 0x33, 32);
  c->has_tls_exporter = true;
  c->tls_exporter_size = 32;
  memset(c->tls_exporter, 0x44, 32);
}

TEST(claims_round_trip_in_deterministic_order) {
  enclos_claims c, d;
  sample(&c);
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_claims_encode(&c, &b));
  CHECK_EQ_INT(b.data[0], 0xA5); /* map(5) */
  CHECK_MEM(b.data + 1, "\x65nonce", 6); /* shortest key first (RFC 8949 §4.2.1) */
  CHECK_OK(enclos_claims_decode(b.data, b.len, &d));
  CHECK(memcmp(&c, &d, sizeof(c)) == 0);
  enclos_buf_free(&b);
}

TEST(claims_minimal_is_pubkey_hash_only) {
  enclos_claims c = {0}, d;
  CHECK_OK(enclos_claims_set_pubkey(&c, "k", 1));
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_claims_encode(&c, &b));
  /* {"pubkey-hash": [1, h'…32']} */
  CHECK_EQ_INT(b.len, 1 + 12 + 1 + 1 + 2 + 32);
  CHECK_MEM(b.data, "\xA1\x6Bpubkey-hash\x82\x01\x58\x20", 17);
  CHECK_OK(enclos_claims_decode(b.data, b.len, &d));
  CHECK(!d.has_nonce && !d.has_app && !d.has_config_root && !d.has_tls_exporter);
  enclos_buf_free(&b);
}

TEST(claims_decoder_rejects_non_canonical_and_unknown) {
  enclos_claims d;
  /* keys reversed: {"pubkey-hash": [1, h'00'*32], "nonce": h'01'} */
  enclos_buf b = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append(&b, "\xA2\x6Bpubkey-hash\x82\x01\x58\x20", 17));
  uint8_t *z;
  CHECK_OK(enclos_buf_append_zeros(&b, 32, &z));
  CHECK_OK(enclos_buf_append(&b, "\x65nonce\x41\x01", 8));
  CHECK_ERR(enclos_claims_decode(b.data, b.len, &d), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "deterministic");
  /* unknown key */
  enclos_buf u = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append(&u, "\xA1\x63xyz\x01", 6));
  CHECK_ERR(enclos_claims_decode(u.data, u.len, &d), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "unknown");
  /* wrong hash size for the alg, unknown alg */
  enclos_buf w = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_buf_append(&w, "\xA1\x6Bpubkey-hash\x82\x07\x58\x20", 17));
  CHECK_OK(enclos_buf_append_zeros(&w, 32, &z));
  CHECK_ERR(enclos_claims_decode(w.data, w.len, &d), ENCLOS_E_MALFORMED);
  w.data[14] = 0x05;
  CHECK_ERR(enclos_claims_decode(w.data, w.len, &d), ENCLOS_E_UNSUPPORTED);
  /* trailing byte, truncation, empty, oversize */
  enclos_claims c;
  sample(&c);
  enclos_buf g = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_claims_encode(&c, &g));
  CHECK_ERR(enclos_claims_decode(g.data, g.len - 1, &d), ENCLOS_E_MALFORMED);
  CHECK_OK(enclos_buf_append_u8(&g, 0));
  CHECK_ERR(enclos_claims_decode(g.data, g.len, &d), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_claims_decode(g.data, 0, &d), ENCLOS_E_LIMIT);
  CHECK_ERR(enclos_claims_decode(g.data, ENCLOS_CLAIMS_MAX_SIZE + 1, &d), ENCLOS_E_LIMIT);
  /* a head declaring 2^32-1 entries (found by fuzzing: libcbor allocated from it) */
  CHECK_ERR(enclos_claims_decode("\xBA\xFF\xFF\xFF\xFF\x01", 6, &d), ENCLOS_E_MALFORMED);
  CHECK_ERR(enclos_claims_decode("\xA1\x9B\x00\x00\x00\x01\x00\x00\x00\x00", 10, &d), ENCLOS_E_MALFORMED);
  enclos_buf_free(&b);
  enclos_buf_free(&u);
  enclos_buf_free(&w);
  enclos_buf_free(&g);
}

TEST(report_data_uses_the_producers_hash_and_verifier_accepts_all_three) {
  uint8_t rd[64];
  enclos_hash_alg which;
  const enclos_tee_kind kinds[] = {ENCLOS_TEE_SGX, ENCLOS_TEE_TDX, ENCLOS_TEE_SNP, ENCLOS_TEE_SIM};
  const enclos_hash_alg want[] = {ENCLOS_SHA256, ENCLOS_SHA384, ENCLOS_SHA512, ENCLOS_SHA512};
  for (int i = 0; i < 4; i++) {
    CHECK_OK(enclos_claims_report_data(kinds[i], "claims", 6, rd));
    CHECK_OK(enclos_claims_check_report_data("claims", 6, rd, &which));
    CHECK_EQ_INT(which, want[i]);
    CHECK_ERR(enclos_claims_check_report_data("claimz", 6, rd, &which), ENCLOS_E_VERIFY);
  }
  CHECK_OK(enclos_claims_report_data(ENCLOS_TEE_SGX, "claims", 6, rd));
  rd[40] = 1; /* padding must be zero */
  CHECK_ERR(enclos_claims_check_report_data("claims", 6, rd, &which), ENCLOS_E_VERIFY);
}

static void hex32(const uint8_t *h, char out[65]) { enclos_hex_encode_to(out, h, 32); }

TEST(config_tree_worked_example_from_the_docs) {
  enclos_config_tree *t;
  CHECK_OK(enclos_config_new(&t));
  /* inserted out of order on purpose: the tree sorts by name */
  CHECK_OK(enclos_config_add(t, "tls/mode", "self-signed", 11));
  CHECK_OK(enclos_config_add(t, "apps/hello/code", "hello", 5));
  CHECK_OK(enclos_config_add(t, "egress/roots", "none", 4));
  uint8_t root[32], vh[32], leaf[32];
  char hex[65];
  CHECK_OK(enclos_hash(ENCLOS_SHA256, "hello", 5, vh));
  CHECK_OK(enclos_config_leaf_hash("apps/hello/code", vh, leaf));
  hex32(leaf, hex);
  CHECK_STR(hex, "3b25df3c2ef12778320a7751792c612236e758136f20cdf31463c329a0a292c5");
  CHECK_OK(enclos_config_root(t, root));
  hex32(root, hex);
  CHECK_STR(hex, "2a17fb150bb3808a91e88cb78a47e3183001e3af00bfa6f28826727ae3cce888");
  /* every leaf proves; the third one's path is the single node01 */
  const char *names[] = {"apps/hello/code", "egress/roots", "tls/mode"};
  const char *values[] = {"hello", "none", "self-signed"};
  for (int i = 0; i < 3; i++) {
    size_t idx;
    enclos_buf p = ENCLOS_BUF_INIT;
    CHECK_OK(enclos_config_prove(t, names[i], &idx, &p));
    CHECK_EQ_INT(idx, i);
    CHECK_OK(enclos_hash(ENCLOS_SHA256, values[i], strlen(values[i]), vh));
    CHECK_OK(enclos_config_verify(names[i], vh, idx, 3, p.data, p.len, root));
    if (i == 2) {
      hex32(p.data, hex);
      CHECK_STR(hex, "f737942e0c033050ea3c44031aa240d10958b5f11ccd46e63dd29dd03e3cc521");
    }
    /* wrong value, wrong name, wrong index, flipped path byte, truncated path */
    vh[0] ^= 1;
    CHECK_ERR(enclos_config_verify(names[i], vh, idx, 3, p.data, p.len, root), ENCLOS_E_VERIFY);
    vh[0] ^= 1;
    CHECK_ERR(enclos_config_verify("tls/mod", vh, idx, 3, p.data, p.len, root), ENCLOS_E_VERIFY);
    CHECK_ERR(enclos_config_verify(names[i], vh, (idx + 1) % 3, 3, p.data, p.len, root), ENCLOS_E_VERIFY);
    p.data[p.len - 1] ^= 1;
    CHECK_ERR(enclos_config_verify(names[i], vh, idx, 3, p.data, p.len, root), ENCLOS_E_VERIFY);
    CHECK_ERR(enclos_config_verify(names[i], vh, idx, 3, p.data, p.len - 32, root), ENCLOS_E_VERIFY);
    enclos_buf_free(&p);
  }
  CHECK_ERR(enclos_config_add(t, "egress/roots", "x", 1), ENCLOS_E_EXISTS);
  enclos_config_free(t);
}

TEST(config_tree_proofs_hold_for_many_sizes) {
  for (size_t n = 1; n <= 33; n++) {
    enclos_config_tree *t;
    CHECK_OK(enclos_config_new(&t));
    char name[32];
    for (size_t i = 0; i < n; i++) {
      snprintf(name, sizeof(name), "leaf/%03zu", i);
      CHECK_OK(enclos_config_add(t, name, name, strlen(name)));
    }
    uint8_t root[32], vh[32];
    CHECK_OK(enclos_config_root(t, root));
    for (size_t i = 0; i < n; i++) {
      snprintf(name, sizeof(name), "leaf/%03zu", i);
      size_t idx;
      enclos_buf p = ENCLOS_BUF_INIT;
      CHECK_OK(enclos_config_prove(t, name, &idx, &p));
      CHECK_OK(enclos_hash(ENCLOS_SHA256, name, strlen(name), vh));
      CHECK_OK(enclos_config_verify(name, vh, idx, n, p.data, p.len, root));
      /* The tree size is not authenticated by the path alone (RFC 9162: a size-3 proof for
       * leaf 0 also verifies as size 4), which is why the size comes from the attested
       * manifest; an index outside the tree always fails. */
      CHECK_ERR(enclos_config_verify(name, vh, n, n, p.data, p.len, root), ENCLOS_E_RANGE);
      enclos_buf_free(&p);
    }
    enclos_config_free(t);
  }
}

TEST(config_manifest_round_trips_and_is_strict) {
  enclos_config_tree *t, *u;
  CHECK_OK(enclos_config_new(&t));
  CHECK_OK(enclos_config_add(t, "b", "2", 1));
  CHECK_OK(enclos_config_add(t, "a", "1", 1));
  enclos_buf m = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_config_manifest(t, &m));
  CHECK_OK(enclos_config_from_manifest(m.data, m.len, &u));
  uint8_t r1[32], r2[32];
  CHECK_OK(enclos_config_root(t, r1));
  CHECK_OK(enclos_config_root(u, r2));
  CHECK_MEM(r1, r2, 32);
  enclos_config_free(u);
  /* swap the two entries' names: out of order */
  uint8_t *a = memmem(m.data, m.len, "\x61" "a", 2), *b = memmem(m.data, m.len, "\x61" "b", 2);
  CHECK(a && b);
  a[1] = 'b';
  b[1] = 'a';
  CHECK_ERR(enclos_config_from_manifest(m.data, m.len, &u), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "out of order");
  CHECK_ERR(enclos_config_from_manifest(m.data, m.len - 1, &u), ENCLOS_E_MALFORMED);
  enclos_buf_free(&m);
  enclos_config_free(t);
  /* the empty tree's root is SHA-256("") */
  CHECK_OK(enclos_config_new(&t));
  CHECK_OK(enclos_config_root(t, r1));
  char hex[65];
  hex32(r1, hex);
  CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  enclos_config_free(t);
}
