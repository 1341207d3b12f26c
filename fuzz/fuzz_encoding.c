/* fuzz_encoding: hex and base64 decoders on arbitrary text. Whatever decodes must re-encode
 * to the same text (the decoders are canonical), and nothing may read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/encoding.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip_b64(const char *text, size_t len, enclos_b64_variant v) {
  enclos_buf dec = ENCLOS_BUF_INIT, enc = ENCLOS_BUF_INIT;
  if (enclos_b64_decode(&dec, text, len, v) == ENCLOS_OK) {
    if (enclos_b64_encode(&enc, dec.data, dec.len, v) != ENCLOS_OK) abort();
    /* URL variant accepts optional padding: compare without it. */
    size_t cmp = len;
    while (v == ENCLOS_B64_URL && cmp > 0 && text[cmp - 1] == '=') cmp--;
    if (enc.len != cmp || (cmp && memcmp(enc.data, text, cmp) != 0)) abort();
  }
  enclos_buf_free(&dec);
  enclos_buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Copy to an exact-size heap buffer so ASan catches any over-read. */
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  enclos_buf dec = ENCLOS_BUF_INIT, enc = ENCLOS_BUF_INIT;
  if (enclos_hex_decode(&dec, text, size) == ENCLOS_OK) {
    if (enclos_hex_encode(&enc, dec.data, dec.len) != ENCLOS_OK) abort();
    for (size_t i = 0; i < size; i++) {
      char c = text[i];
      if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
      if (enc.data[i] != (uint8_t)c) abort();
    }
  }
  enclos_buf_free(&dec);
  enclos_buf_free(&enc);
  roundtrip_b64(text, size, ENCLOS_B64_STD);
  roundtrip_b64(text, size, ENCLOS_B64_URL);
  enclos_buf_reset(&dec);
  (void)enclos_b64_decode_relaxed(&dec, text, size);
  enclos_buf_free(&dec);
  free(text);
  return 0;
}
