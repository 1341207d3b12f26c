/* tee_int.h: private to src/tee. The backend table and shared file helpers. */
#ifndef ENCLOS_TEE_INT_H
#define ENCLOS_TEE_INT_H

#include <enclos/crypto.h>
#include <enclos/tee.h>

struct enclos_tee {
  enclos_tee_kind kind;
  char *sim_dir;
  char *sim_exe;
  char *tsm_root;
  char *sev_guest;
  char *gramine_root;
  bool snp_ioctl; /* SNP through /dev/sev-guest because configfs-tsm is absent */
  int (*sev_ioctl)(int fd, unsigned long request, void *arg, void *ctx); /* test seam, NULL: ioctl */
  void *sev_ioctl_ctx;
  /* sim state */
  enclos_pkey *sim_key;
  uint8_t sim_key_id[ENCLOS_SIM_KEY_ID_SIZE];
  enclos_buf sim_root_der;
  uint8_t sim_secret[32];
  uint8_t measurement[ENCLOS_SIM_MEASUREMENT_SIZE];
};

/* Offsets of the 64-byte report data in the raw evidence (checked by the producers so that a
 * provider that returns someone else's evidence is caught at once). */
#define TEE__SGX_QUOTE_RD_OFF (48 + 320)  /* quote v3 header + sgx_report_body.report_data */
#define TEE__TDX_QUOTE_RD_OFF (48 + 520)  /* quote v4 header + TD10 body.report_data */
#define TEE__TDX5_QUOTE_RD_OFF (48 + 6 + 520) /* quote v5: + body type u16 and size u32 */
#define TEE__SNP_REPORT_RD_OFF 0x50
#define TEE__SNP_REPORT_SIZE 0x4A0

enclos_err tee__read_file(const char *path, size_t max, enclos_buf *out);
enclos_err tee__write_file(const char *path, const void *data, size_t size, bool create, int mode);
enclos_err tee__path(enclos_buf *out, const char *dir, const char *name);

enclos_err tee__sim_open(enclos_tee *t);
enclos_err tee__sim_evidence(enclos_tee *t, const uint8_t rd[64], enclos_buf *out);
enclos_err tee__sim_sealing_key(enclos_tee *t, uint8_t out[32]);

enclos_err tee__tsm_evidence(enclos_tee *t, const char *want_provider, const uint8_t rd[64],
                             enclos_buf *out);
enclos_err tee__tsm_provider(const char *root, enclos_buf *out);
enclos_err tee__snp_ioctl_report(enclos_tee *t, const uint8_t rd[64], enclos_buf *out);
enclos_err tee__snp_ioctl_key(enclos_tee *t, uint8_t out[32]);
enclos_err tee__gramine_evidence(enclos_tee *t, const uint8_t rd[64], enclos_buf *out);
enclos_err tee__gramine_key(enclos_tee *t, uint8_t out[32]);
enclos_err tee__check_report_data(enclos_tee_kind kind, const enclos_buf *ev, const uint8_t rd[64]);

#endif
