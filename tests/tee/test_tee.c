/* tee backends: sim end to end; tdx, sev-snp and sgx producers against a fake provider that
 * serves the captured real evidence in shared/testdata/attestation; the generation race. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos/crypto.h>
#include <enclos/mem.h>
#include <enclos/tee.h>
#include <enclos/x509.h>

#include "fake_provider.h"
#include "test.h"

static const char *subdir(const char *name) {
  static char path[4][512];
  static int i;
  char *p = path[i++ % 4];
  snprintf(p, 512, "%s/%s", test_tmpdir(), name);
  mkdir(p, 0700);
  return p;
}

static void fill_rd(uint8_t rd[64], uint8_t seed) {
  for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(seed + i);
}

TEST(kind_names_round_trip) {
  enclos_tee_kind k;
  CHECK_OK(enclos_tee_kind_parse("sev-snp", &k));
  CHECK_EQ_INT(k, ENCLOS_TEE_SNP);
  CHECK_STR(enclos_tee_kind_name(ENCLOS_TEE_TDX), "tdx");
  CHECK_ERR(enclos_tee_kind_parse("snp", &k), ENCLOS_E_INVAL);
  CHECK_CONTAINS(enclos_err_detail(), "unknown TEE 'snp'");
}

TEST(sim_evidence_is_signed_by_the_platform_root) {
  enclos_tee_config cfg = {.sim_state_dir = subdir("sim")};
  enclos_tee *t;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &t));
  CHECK_EQ_INT(enclos_tee_get_kind(t), ENCLOS_TEE_SIM);
  uint8_t rd[64];
  fill_rd(rd, 7);
  enclos_buf ev = ENCLOS_BUF_INIT, root = ENCLOS_BUF_INIT, desc = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_tee_evidence(t, rd, &ev));
  CHECK_OK(enclos_tee_endorsements(t, &root));
  CHECK_OK(enclos_tee_describe(t, &desc));
  CHECK_OK(enclos_buf_append_u8(&desc, 0));
  CHECK_CONTAINS((const char *)desc.data, "INSECURE");
  enclos_sim_evidence se;
  CHECK_OK(enclos_sim_evidence_parse(ev.data, ev.len, &se));
  CHECK_MEM(se.report_data, rd, 64);
  enclos_x509 *cert;
  enclos_pkey *pk;
  CHECK_OK(enclos_x509_from_der(root.data, root.len, &cert));
  CHECK_OK(enclos_x509_pubkey(cert, &pk));
  CHECK_OK(enclos_pkey_verify(pk, ENCLOS_SHA384, se.signed_part, se.signed_size, se.sig, se.sig_size,
                              ENCLOS_SIG_DER));
  /* measurement = SHA-384 of this test binary */
  size_t n;
  uint8_t *self = test_read_file("/proc/self/exe", &n);
  uint8_t m[48];
  CHECK_OK(enclos_hash(ENCLOS_SHA384, self, n, m));
  CHECK_MEM(se.measurement, m, 48);
  free(self);
  /* a flipped byte anywhere in the signed part breaks the signature */
  ev.data[20] ^= 1;
  CHECK_OK(enclos_sim_evidence_parse(ev.data, ev.len, &se));
  CHECK_ERR(enclos_pkey_verify(pk, ENCLOS_SHA384, se.signed_part, se.signed_size, se.sig, se.sig_size,
                               ENCLOS_SIG_DER),
            ENCLOS_E_VERIFY);
  ev.data[20] ^= 1;
  /* strict parse */
  CHECK_ERR(enclos_sim_evidence_parse(ev.data, ev.len - 1, &se), ENCLOS_E_TRUNCATED);
  CHECK_OK(enclos_buf_append_u8(&ev, 0));
  CHECK_ERR(enclos_sim_evidence_parse(ev.data, ev.len, &se), ENCLOS_E_MALFORMED);
  ev.data[0] = 'X';
  CHECK_ERR(enclos_sim_evidence_parse(ev.data, ev.len, &se), ENCLOS_E_MALFORMED);
  enclos_pkey_free(pk);
  enclos_x509_free(cert);
  enclos_buf_free(&ev);
  enclos_buf_free(&root);
  enclos_buf_free(&desc);
  enclos_tee_free(t);
}

TEST(sim_state_persists_and_sealing_key_follows_measurement) {
  const char *dir = subdir("sim");
  enclos_tee_config cfg = {.sim_state_dir = dir};
  enclos_tee *a, *b, *c;
  uint8_t ka[32], kb[32], kc[32];
  enclos_buf ra = ENCLOS_BUF_INIT, rb = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &a));
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &b));
  CHECK_OK(enclos_tee_sealing_key(a, ka));
  CHECK_OK(enclos_tee_sealing_key(b, kb));
  CHECK_MEM(ka, kb, 32);
  CHECK_OK(enclos_tee_endorsements(a, &ra));
  CHECK_OK(enclos_tee_endorsements(b, &rb));
  CHECK(ra.len == rb.len && memcmp(ra.data, rb.data, ra.len) == 0);
  char exe[600];
  snprintf(exe, sizeof(exe), "%s/other-binary", dir);
  FILE *f = fopen(exe, "w");
  fputs("not the same program", f);
  fclose(f);
  enclos_tee_config cfg2 = {.sim_state_dir = dir, .sim_exe = exe};
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SIM, &cfg2, &c));
  CHECK_OK(enclos_tee_sealing_key(c, kc));
  CHECK(memcmp(ka, kc, 32) != 0);
  char path[600];
  snprintf(path, sizeof(path), "%s/platform-root.der", dir);
  CHECK(access(path, R_OK) == 0);
  enclos_buf_free(&ra);
  enclos_buf_free(&rb);
  enclos_tee_free(a);
  enclos_tee_free(b);
  enclos_tee_free(c);
}

static uint8_t *load(const char *path, size_t *n) { return test_read_file(path, n); }

static void run_tsm(enclos_tee_kind kind, const char *provider, const char *file, size_t off,
                    bool race, bool wrong_rd, enclos_err want) {
  size_t n;
  uint8_t *q = load(file, &n);
  const char *root = subdir("tsm");
  fake_provider fp = {.root = root, .provider = provider, .quote = q, .quote_size = n,
                      .rd_offset = off, .requests = 1, .race = race, .wrong_rd = wrong_rd};
  pid_t pid = fake_provider_start(&fp);
  CHECK(pid > 0);
  enclos_tee_config cfg = {.tsm_root = root};
  enclos_tee *t;
  CHECK_OK(enclos_tee_open(kind, &cfg, &t));
  uint8_t rd[64];
  fill_rd(rd, 0x40);
  enclos_buf ev = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_tee_evidence(t, rd, &ev), want);
  if (want == ENCLOS_OK) {
    CHECK_EQ_INT(ev.len, n);
    CHECK_MEM(ev.data + off, rd, 64);
    CHECK_MEM(ev.data, q, off); /* everything before the report data is the captured quote */
    CHECK_MEM(ev.data + off + 64, q + off + 64, n - off - 64);
  }
  CHECK(fake_provider_wait(pid));
  enclos_buf_free(&ev);
  enclos_tee_free(t);
  free(q);
}

TEST(tdx_producer_returns_captured_quote_via_configfs_tsm) {
  run_tsm(ENCLOS_TEE_TDX, "tdx_guest", SHARED("testdata/attestation/tdx/phala-dcap-qvl/tdx_quote"),
          48 + 520, false, false, ENCLOS_OK);
}

TEST(snp_producer_returns_captured_report_via_configfs_tsm) {
  run_tsm(ENCLOS_TEE_SNP, "sev_guest",
          SHARED("testdata/attestation/snp/confidential-containers-trustee/test-report.bin"), 0x50, false,
          false, ENCLOS_OK);
}

TEST(configfs_tsm_generation_race_is_detected) {
  run_tsm(ENCLOS_TEE_TDX, "tdx_guest", SHARED("testdata/attestation/tdx/phala-dcap-qvl/tdx_quote"),
          48 + 520, true, false, ENCLOS_E_AGAIN);
  CHECK_CONTAINS(enclos_err_detail(), "generation moved from 1 to 2");
}

TEST(configfs_tsm_evidence_for_other_report_data_is_refused) {
  run_tsm(ENCLOS_TEE_TDX, "tdx_guest", SHARED("testdata/attestation/tdx/phala-dcap-qvl/tdx_quote"),
          48 + 520, false, true, ENCLOS_E_VERIFY);
  CHECK_CONTAINS(enclos_err_detail(), "other report data");
}

TEST(configfs_tsm_wrong_provider_is_refused) {
  size_t n;
  uint8_t *q = load(SHARED("testdata/attestation/tdx/phala-dcap-qvl/tdx_quote"), &n);
  const char *root = subdir("tsm");
  fake_provider fp = {.root = root, .provider = "sev_guest", .quote = q, .quote_size = n,
                      .rd_offset = 568, .requests = 1, .probes = 1};
  pid_t pid = fake_provider_start(&fp);
  enclos_tee_config cfg = {.tsm_root = root};
  enclos_tee *t;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_TDX, &cfg, &t));
  uint8_t rd[64] = {0};
  enclos_buf ev = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_tee_evidence(t, rd, &ev), ENCLOS_E_UNSUPPORTED);
  CHECK_CONTAINS(enclos_err_detail(), "provider is 'sev_guest', want 'tdx_guest'");
  CHECK(fake_provider_wait(pid));
  enclos_tee_free(t);
  free(q);
}

TEST(detect_finds_tdx_from_the_provider_and_sim_otherwise) {
  size_t n;
  uint8_t *q = load(SHARED("testdata/attestation/tdx/phala-dcap-qvl/tdx_quote"), &n);
  const char *root = subdir("tsm");
  fake_provider fp = {.root = root, .provider = "tdx_guest", .quote = q, .quote_size = n,
                      .rd_offset = 568, .requests = 1, .probes = 1};
  pid_t pid = fake_provider_start(&fp);
  enclos_tee_config cfg = {.tsm_root = root, .gramine_root = "/nonexistent",
                           .sev_guest = "/nonexistent"};
  enclos_tee_kind k;
  CHECK_OK(enclos_tee_detect(&cfg, &k));
  CHECK_EQ_INT(k, ENCLOS_TEE_TDX);
  CHECK(fake_provider_wait(pid));
  enclos_tee_config none = {.tsm_root = "/nonexistent", .gramine_root = "/nonexistent",
                            .sev_guest = "/nonexistent"};
  CHECK_OK(enclos_tee_detect(&none, &k));
  CHECK_EQ_INT(k, ENCLOS_TEE_SIM);
  free(q);
}

TEST(sgx_producer_returns_captured_quote_via_gramine_files) {
  size_t n;
  uint8_t *q = load(SHARED("testdata/attestation/sgx/phala-dcap-qvl/sgx_quote"), &n);
  const char *root = subdir("attestation");
  fake_provider fp = {.root = root, .quote = q, .quote_size = n, .rd_offset = 48 + 320, .requests = 1};
  pid_t pid = fake_provider_start(&fp);
  CHECK(pid > 0);
  char keys[600];
  snprintf(keys, sizeof(keys), "%s/keys", root);
  mkdir(keys, 0700);
  snprintf(keys, sizeof(keys), "%s/keys/_sgx_mrenclave", root);
  FILE *f = fopen(keys, "w");
  fwrite("0123456789abcdef", 1, 16, f);
  fclose(f);
  enclos_tee_config cfg = {.gramine_root = root};
  enclos_tee_kind k;
  CHECK_OK(enclos_tee_detect(&cfg, &k));
  CHECK_EQ_INT(k, ENCLOS_TEE_SGX);
  enclos_tee *t;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_NONE, &cfg, &t));
  uint8_t rd[64];
  fill_rd(rd, 3);
  enclos_buf ev = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_tee_evidence(t, rd, &ev));
  CHECK_EQ_INT(ev.len, n);
  CHECK_MEM(ev.data + 368, rd, 64);
  CHECK_MEM(ev.data, q, 368);
  uint8_t key[32], key2[32];
  CHECK_OK(enclos_tee_sealing_key(t, key));
  CHECK_OK(enclos_tee_sealing_key(t, key2));
  CHECK_MEM(key, key2, 32);
  CHECK(fake_provider_wait(pid));
  enclos_buf_free(&ev);
  enclos_tee_free(t);
  free(q);
}

TEST(tdx_has_no_sealing_key) {
  enclos_tee_config cfg = {.tsm_root = "/nonexistent"};
  enclos_tee *t;
  uint8_t k[32];
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_TDX, &cfg, &t));
  CHECK_ERR(enclos_tee_sealing_key(t, k), ENCLOS_E_UNSUPPORTED);
  uint8_t rd[64] = {0};
  enclos_buf ev = ENCLOS_BUF_INIT;
  CHECK_ERR(enclos_tee_evidence(t, rd, &ev), ENCLOS_E_NOT_FOUND);
  enclos_tee_free(t);
}

/* ---- /dev/sev-guest through the ioctl seam ------------------------------------------------- */

#include <errno.h>
#include <sys/ioctl.h>
#include <linux/sev-guest.h>

/* What the fake firmware answers (SEV-SNP ABI Tables 19-23 as wrapped by linux/sev-guest.h). */
typedef struct fake_sev {
  const uint8_t *report; /* the captured real report */
  uint32_t status;       /* firmware status word of the response */
  uint32_t size;         /* report size written in the response */
  bool other_rd;         /* answer with report data other than requested */
  int fail_errno;        /* the ioctl itself fails */
  int calls;
  uint64_t field_select;
  uint32_t root_key;
} fake_sev;

static int fake_sev_ioctl(int fd, unsigned long req, void *arg, void *ctx) {
  fake_sev *f = ctx;
  struct snp_guest_request_ioctl *io = arg;
  f->calls++;
  CHECK(fd >= 0);
  CHECK_EQ_INT(io->msg_version, 1);
  if (f->fail_errno) {
    io->fw_error = 0x16; /* an arbitrary firmware error code, echoed in the message */
    errno = f->fail_errno;
    return -1;
  }
  uint8_t *rsp = (uint8_t *)(uintptr_t)io->resp_data;
  for (int i = 0; i < 4; i++) rsp[i] = (uint8_t)(f->status >> (8 * i));
  if (req == SNP_GET_REPORT) {
    const struct snp_report_req *rq = (const struct snp_report_req *)(uintptr_t)io->req_data;
    for (int i = 0; i < 4; i++) rsp[4 + i] = (uint8_t)(f->size >> (8 * i));
    memcpy(rsp + 32, f->report, 1184);
    memcpy(rsp + 32 + 0x50, rq->user_data, 64); /* the firmware puts the guest's report data in */
    if (f->other_rd) rsp[32 + 0x50] ^= 1;
    return 0;
  }
  if (req == SNP_GET_DERIVED_KEY) {
    const struct snp_derived_key_req *rq = (const struct snp_derived_key_req *)(uintptr_t)io->req_data;
    f->field_select = rq->guest_field_select;
    f->root_key = rq->root_key_select;
    for (int i = 0; i < 32; i++) rsp[32 + i] = (uint8_t)(0xA0 + i);
    return 0;
  }
  errno = ENOTTY;
  return -1;
}

static enclos_tee *sev_tee(fake_sev *f) {
  static char dev[512];
  snprintf(dev, sizeof(dev), "%s/sev-guest", test_tmpdir());
  FILE *fp = fopen(dev, "w"); /* a regular file stands in for the device node */
  CHECK(fp != NULL);
  if (fp) fclose(fp);
  enclos_tee_config cfg = {.tsm_root = "/nonexistent/enclos-tsm", .sev_guest = dev,
                           .sev_ioctl = fake_sev_ioctl, .sev_ioctl_ctx = f};
  enclos_tee *t = NULL;
  CHECK_OK(enclos_tee_open(ENCLOS_TEE_SNP, &cfg, &t));
  return t;
}

TEST(snp_producer_returns_captured_report_via_dev_sev_guest) {
  size_t n;
  uint8_t *rep = test_read_file(SHARED("testdata/attestation/snp/confidential-containers-trustee/test-report.bin"), &n);
  CHECK_EQ_INT(n, 1184);
  fake_sev f = {.report = rep, .size = 1184};
  enclos_tee *t = sev_tee(&f);
  enclos_buf d = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_tee_describe(t, &d));
  CHECK_CONTAINS((const char *)d.data, "sev-guest");
  uint8_t rd[64];
  fill_rd(rd, 7);
  enclos_buf ev = ENCLOS_BUF_INIT;
  CHECK_OK(enclos_tee_evidence(t, rd, &ev));
  CHECK_EQ_INT(f.calls, 1);
  CHECK_EQ_INT(ev.len, 1184);
  CHECK_MEM(ev.data + 0x50, rd, 64);
  CHECK_MEM(ev.data, rep, 0x50);
  CHECK_MEM(ev.data + 0x90, rep + 0x90, 1184 - 0x90);
  /* The firmware's answers that must be refused, each with its reason. */
  enclos_buf_reset(&ev);
  f.other_rd = true;
  CHECK_ERR(enclos_tee_evidence(t, rd, &ev), ENCLOS_E_VERIFY);
  f.other_rd = false;
  f.size = 1000;
  CHECK_ERR(enclos_tee_evidence(t, rd, &ev), ENCLOS_E_MALFORMED);
  CHECK_CONTAINS(enclos_err_detail(), "SNP report size 1000");
  f.size = 1184;
  f.status = 0x16;
  CHECK_ERR(enclos_tee_evidence(t, rd, &ev), ENCLOS_E_IO);
  CHECK_CONTAINS(enclos_err_detail(), "firmware status 0x16");
  f.status = 0;
  f.fail_errno = EIO;
  CHECK_ERR(enclos_tee_evidence(t, rd, &ev), ENCLOS_E_IO);
  CHECK_CONTAINS(enclos_err_detail(), "SNP_GET_REPORT");
  CHECK_CONTAINS(enclos_err_detail(), "fw_error 0x16");
  CHECK_EQ_INT(ev.len, 0);
  enclos_buf_free(&d);
  enclos_buf_free(&ev);
  enclos_tee_free(t);
  free(rep);
}

TEST(snp_sealing_key_via_dev_sev_guest_derived_key) {
  fake_sev f = {0};
  enclos_tee *t = sev_tee(&f);
  uint8_t key[32], want[32];
  for (int i = 0; i < 32; i++) want[i] = (uint8_t)(0xA0 + i);
  CHECK_OK(enclos_tee_sealing_key(t, key));
  CHECK_MEM(key, want, 32);
  CHECK_EQ_INT(f.root_key, 0);                  /* VCEK-rooted */
  CHECK_EQ_U64(f.field_select, UINT64_C(1) << 3); /* mixes in the launch measurement */
  f.status = 1;
  CHECK_ERR(enclos_tee_sealing_key(t, key), ENCLOS_E_IO);
  CHECK_CONTAINS(enclos_err_detail(), "firmware status");
  f.status = 0;
  f.fail_errno = EPERM;
  CHECK_ERR(enclos_tee_sealing_key(t, key), ENCLOS_E_IO);
  CHECK_CONTAINS(enclos_err_detail(), "SNP_GET_DERIVED_KEY");
  enclos_tee_free(t);
}
