/* vh.h: helpers for the hardware-evidence verifier tests. */
#ifndef TEST_VERIFY_VH_H
#define TEST_VERIFY_VH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/buf.h>
#include <enclos/encoding.h>
#include <enclos/time.h>
#include <enclos/verify_hw.h>

#include "test.h"

#define ATT(rel) SHARED("testdata/attestation/" rel)

static inline enclos_buf vh_read(const char *path) {
  enclos_buf b = ENCLOS_BUF_INIT;
  FILE *f = fopen(path, "rb");
  CHECK_MSG(f != NULL, "cannot open %s", path);
  if (f == NULL) return b;
  uint8_t tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) CHECK_OK(enclos_buf_append(&b, tmp, n));
  fclose(f);
  return b;
}

/* Evidence file: binary, or hex text. */
static inline enclos_buf vh_evidence(const char *path) {
  enclos_buf b = vh_read(path), out = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_hw_evidence_decode(b.data, b.len, &out));
  enclos_buf_free(&b);
  return out;
}

/* The string value of a top-level member of a JSON file, \n unescaped (test data only). */
static inline enclos_buf vh_json_str(const char *path, const char *key) {
  enclos_buf b = vh_read(path), out = ENCLOS_BUF_INIT;
  char pat[80];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  CHECK_OK(enclos_buf_append_u8(&b, 0));
  const char *p = strstr((const char *)b.data, pat);
  CHECK(p != NULL);
  if (p == NULL) return out;
  for (p += strlen(pat); *p && *p != '"'; p++) {
    if (p[0] == '\\' && p[1] == 'n') {
      CHECK_OK(enclos_buf_append_u8(&out, '\n'));
      p++;
    } else {
      CHECK_OK(enclos_buf_append_u8(&out, (uint8_t)*p));
    }
  }
  enclos_buf_free(&b);
  return out;
}

#define CHECK_HEX_(bytes, hex)                                                     \
  do {                                                                             \
    char vh__h[200];                                                               \
    enclos_hex_encode_to(vh__h, (bytes), strlen(hex) / 2);                         \
    CHECK_STR(vh__h, (hex));                                                       \
  } while (0)

static inline int64_t vh_time(const char *s) {
  int64_t t = 0;
  CHECK_OK(enclos_time_parse(s, &t));
  return t;
}

static inline enclos_hw_collateral *vh_coll(const char *const *dirs) {
  enclos_hw_collateral *c = NULL;
  CHECK_OK(enclos_hw_collateral_new(&c));
  for (size_t i = 0; dirs[i] != NULL; i++) CHECK_OK(enclos_hw_collateral_add_dir(c, dirs[i]));
  return c;
}

static inline void vh_add_file(enclos_hw_collateral *c, const char *path) {
  enclos_buf b = vh_read(path);
  enclos_coll_kind k;
  CHECK_OK(enclos_hw_collateral_add(c, b.data, b.len, &k));
  CHECK(k != ENCLOS_COLL_NONE);
  enclos_buf_free(&b);
}

static inline void vh_dump(const enclos_hw_result *r) {
  if (r->failed_check != NULL)
    fprintf(stderr, "  failed %s: %s\n", r->failed_check, r->reason);
}

#endif
