/* crypto: the `enclos` host crypto API (docs/apps.md, "Host API"): SHA-256, HMAC-SHA-256,
 * AES-256-GCM seal/open with a random key, ECDSA P-256 sign/verify. Needs a host that provides
 * the `enclos` import module (the app server); plain `enclos run` does not, so it refuses to
 * link this module with a message naming the missing import. */
#include <stdio.h>
#include <string.h>

#include <enclos.h>

static void hex(const char *label, const unsigned char *p, int n) {
  printf("%s", label);
  for (int i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

int main(void) {
  unsigned char d[64], mac[64], key[ENCLOS_AEAD_KEY_SIZE], nonce[ENCLOS_AEAD_NONCE_SIZE];
  unsigned char ct[64], pt[64], sig[ENCLOS_P256_SIGNATURE_SIZE];
  const char *msg = "abc";
  int n = enclos_digest(ENCLOS_SHA256, msg, 3, d, sizeof(d));
  if (n != 32) return 1;
  hex("sha256(abc)=", d, n); /* ba7816bf... (FIPS 180-4 example) */
  n = enclos_hmac(ENCLOS_SHA256, "key", 3, "The quick brown fox jumps over the lazy dog", 43, mac,
                  sizeof(mac));
  if (n != 32) return 2;
  hex("hmac=", mac, n); /* f7bc83f4... (RFC 4231-style well-known vector) */
  if (enclos_random(key, sizeof(key)) != (int)sizeof(key)) return 3;
  if (enclos_random(nonce, sizeof(nonce)) != (int)sizeof(nonce)) return 3;
  const char *secret = "attack at dawn";
  n = enclos_aead_seal(key, sizeof(key), nonce, sizeof(nonce), "hdr", 3, secret, strlen(secret),
                       ct, sizeof(ct));
  if (n != (int)strlen(secret) + ENCLOS_AEAD_TAG_SIZE) return 4;
  int m = enclos_aead_open(key, sizeof(key), nonce, sizeof(nonce), "hdr", 3, ct, (size_t)n, pt,
                           sizeof(pt));
  if (m != (int)strlen(secret) || memcmp(pt, secret, (size_t)m) != 0) return 5;
  ct[0] ^= 1;
  if (enclos_aead_open(key, sizeof(key), nonce, sizeof(nonce), "hdr", 3, ct, (size_t)n, pt,
                       sizeof(pt)) != -ENCLOS_EVERIFY)
    return 6;
  printf("aead ok\n");
  /* A fixed test key (private scalar 1 is valid but only for a demo: public = generator). */
  unsigned char priv[ENCLOS_P256_PRIVATE_SIZE] = {0};
  priv[31] = 1;
  static const unsigned char pub[ENCLOS_P256_PUBLIC_SIZE] = {
      0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63,
      0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39,
      0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e,
      0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e,
      0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
  if (enclos_sign(priv, sizeof(priv), msg, 3, sig, sizeof(sig)) != ENCLOS_P256_SIGNATURE_SIZE)
    return 7;
  if (enclos_verify(pub, sizeof(pub), msg, 3, sig, sizeof(sig)) != 0) return 8;
  if (enclos_verify(pub, sizeof(pub), "abd", 3, sig, sizeof(sig)) != -ENCLOS_EVERIFY) return 9;
  printf("ecdsa ok\n");
  enclos_log_str(ENCLOS_LOG_INFO, "crypto demo done");
  return 0;
}
