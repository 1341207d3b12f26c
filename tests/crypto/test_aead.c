/* AES-256-GCM: NIST GCM specification test cases 13-16 (McGrew & Viega, as used in the
 * NIST CAVP gcmEncryptExtIV256 set), plus tamper detection. */
#include <enclos/crypto.h>

#include "vec.h"

TEST(aead_gcm_zero_key_vectors) {
  uint8_t key[32] = {0}, iv[12] = {0}, tag[16], ct[16], pt[16] = {0};
  CHECK_OK(enclos_aead_seal(key, iv, NULL, 0, NULL, 0, NULL, tag));
  CHECK_HEX(tag, 16, "530f8afbc74536b9a963b4f1c4cb738b"); /* test case 13 */
  CHECK_OK(enclos_aead_seal(key, iv, NULL, 0, pt, 16, ct, tag));
  CHECK_HEX(ct, 16, "cea7403d4d606b6e074ec5d3baf39d18"); /* test case 14 */
  CHECK_HEX(tag, 16, "d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(aead_gcm_vector_with_aad) {
  enclos_buf key = hexbuf("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  enclos_buf iv = hexbuf("cafebabefacedbaddecaf888");
  enclos_buf pt = hexbuf("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                         "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  enclos_buf aad = hexbuf("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  uint8_t ct[60], tag[16], back[60];
  CHECK_EQ_INT(pt.len, 60);
  CHECK_OK(enclos_aead_seal(key.data, iv.data, aad.data, aad.len, pt.data, 60, ct, tag));
  CHECK_HEX(ct, 60, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662");
  CHECK_HEX(tag, 16, "76fc6ece0f4e1768cddf8853bb2d551b"); /* test case 16 */
  CHECK_OK(enclos_aead_open(key.data, iv.data, aad.data, aad.len, ct, 60, tag, back));
  CHECK_MEM(back, pt.data, 60);
  /* Any change to ciphertext, tag or AAD is detected, and the output is wiped. */
  ct[7] ^= 1;
  CHECK_ERR(enclos_aead_open(key.data, iv.data, aad.data, aad.len, ct, 60, tag, back),
            ENCLOS_E_TAMPERED);
  for (int i = 0; i < 60; i++) CHECK_EQ_INT(back[i], 0);
  ct[7] ^= 1;
  tag[15] ^= 0x80;
  CHECK_ERR(enclos_aead_open(key.data, iv.data, aad.data, aad.len, ct, 60, tag, back),
            ENCLOS_E_TAMPERED);
  tag[15] ^= 0x80;
  CHECK_ERR(enclos_aead_open(key.data, iv.data, aad.data, aad.len - 1, ct, 60, tag, back),
            ENCLOS_E_TAMPERED);
  enclos_buf_free(&key);
  enclos_buf_free(&iv);
  enclos_buf_free(&pt);
  enclos_buf_free(&aad);
}
