/* tsm.c: TDX and SEV-SNP evidence through Linux configfs-tsm
 * (Documentation/ABI/testing/configfs-tsm: report/<name>/{inblob,outblob,provider,generation}),
 * and SEV-SNP through /dev/sev-guest ioctls (linux/sev-guest.h) when configfs-tsm is absent.
 *
 * 1. configfs-tsm: mkdir an entry, write inblob, read generation, outblob, generation again
 * 2. /dev/sev-guest: SNP_GET_REPORT, SNP_GET_DERIVED_KEY (SEV-SNP ABI spec §7.2, §7.3)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/sev-guest.h>

#include <enclos/mem.h>

#include "tee_int.h"

/* configfs creates an entry's attributes together with the directory; a provider implemented in
 * user space (the test fake) populates it a moment later, so wait a bounded time. */
#define TSM_POPULATE_WAIT_MS 2000
#define TSM_MAX_SMALL_FILE 64

/* 1. configfs-tsm -------------------------------------------------------------------- */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Makes a fresh report entry under \p root and waits for its provider attribute. */
static enclos_err make_entry(const char *root, enclos_buf *dir) {
  static atomic_uint counter;
  struct stat st;
  ENCLOS_ENSUREF(stat(root, &st) == 0 && S_ISDIR(st.st_mode), ENCLOS_E_NOT_FOUND,
                 "configfs-tsm not available at %s", root);
  enclos_buf p = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  const char *d, *s;
  ENCLOS_GUARD(enclos_buf_printf(dir, "%s/enclos-%ld-%u", root, (long)getpid(),
                                 atomic_fetch_add(&counter, 1)));
  ENCLOS_GUARD(enclos_buf_cstr(dir, &d));
  ENCLOS_GUARD_ENSUREF(mkdir(d, 0700) == 0, ENCLOS_E_IO, "configfs-tsm: mkdir %s: %s", d, strerror(errno));
  ENCLOS_GUARD(tee__path(&p, d, "provider"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  for (int waited = 0; access(s, F_OK) != 0; waited++) {
    if (waited >= TSM_POPULATE_WAIT_MS) {
      rmdir(d);
      ENCLOS_GUARD_FAILF(ENCLOS_E_TIMEOUT, "configfs-tsm: %s never appeared", s);
    }
    sleep_ms(1);
  }
cleanup:
  enclos_buf_free(&p);
  return rc;
}

static enclos_err read_provider(const char *d, enclos_buf *out) {
  enclos_buf p = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  const char *s;
  ENCLOS_GUARD(tee__path(&p, d, "provider"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(tee__read_file(s, TSM_MAX_SMALL_FILE, out));
  while (out->len && out->data[out->len - 1] == '\n') out->len--;
cleanup:
  enclos_buf_free(&p);
  return rc;
}

enclos_err tee__tsm_provider(const char *root, enclos_buf *out) {
  enclos_buf dir = ENCLOS_BUF_INIT;
  ENCLOS_TRY(make_entry(root, &dir));
  enclos_err rc = read_provider((const char *)dir.data, out);
  rmdir((const char *)dir.data);
  enclos_buf_free(&dir);
  return rc;
}

static enclos_err read_generation(const char *dir, uint64_t *out) {
  enclos_buf p = ENCLOS_BUF_INIT, v = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  const char *s;
  ENCLOS_GUARD(tee__path(&p, dir, "generation"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(tee__read_file(s, TSM_MAX_SMALL_FILE, &v));
  ENCLOS_GUARD(enclos_buf_cstr(&v, &s));
  char *end;
  errno = 0;
  unsigned long long g = strtoull(s, &end, 10);
  ENCLOS_GUARD_ENSUREF(errno == 0 && end != s && (*end == '\n' || *end == '\0'), ENCLOS_E_MALFORMED,
                       "configfs-tsm generation '%s' is not a number", s);
  *out = g;
cleanup:
  enclos_buf_free(&p);
  enclos_buf_free(&v);
  return rc;
}

enclos_err tee__tsm_evidence(enclos_tee *t, const char *want_provider, const uint8_t rd[64],
                             enclos_buf *out) {
  enclos_buf dir = ENCLOS_BUF_INIT, p = ENCLOS_BUF_INIT, prov = ENCLOS_BUF_INIT, ev = ENCLOS_BUF_INIT;
  enclos_err rc = ENCLOS_OK;
  bool made = false;
  const char *d, *s;
  ENCLOS_GUARD(make_entry(t->tsm_root, &dir));
  made = true;
  ENCLOS_GUARD(enclos_buf_cstr(&dir, &d));
  ENCLOS_GUARD(read_provider(d, &prov));
  ENCLOS_GUARD_ENSUREF(prov.len == strlen(want_provider) && memcmp(prov.data, want_provider, prov.len) == 0,
                       ENCLOS_E_UNSUPPORTED, "configfs-tsm provider is '%.*s', want '%s'",
                       (int)prov.len, (const char *)prov.data, want_provider);
  ENCLOS_GUARD(tee__path(&p, d, "inblob"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(tee__write_file(s, rd, 64, false, 0));
  /* ABI: generation increments on every write to the entry; equal values before and after the
   * outblob read prove that no other writer changed inblob in between. */
  uint64_t g1, g2;
  ENCLOS_GUARD(read_generation(d, &g1));
  ENCLOS_GUARD(tee__path(&p, d, "outblob"));
  ENCLOS_GUARD(enclos_buf_cstr(&p, &s));
  ENCLOS_GUARD(tee__read_file(s, ENCLOS_TEE_MAX_EVIDENCE, &ev));
  ENCLOS_GUARD(read_generation(d, &g2));
  ENCLOS_GUARD_ENSUREF(g1 == g2, ENCLOS_E_AGAIN,
                       "configfs-tsm: generation moved from %llu to %llu while reading outblob "
                       "(a concurrent writer changed the request)",
                       (unsigned long long)g1, (unsigned long long)g2);
  ENCLOS_GUARD_ENSUREF(ev.len > 0, ENCLOS_E_TRUNCATED, "configfs-tsm: empty outblob");
  ENCLOS_GUARD(tee__check_report_data(t->kind, &ev, rd));
  ENCLOS_GUARD(enclos_buf_append(out, ev.data, ev.len));
cleanup:
  if (made) rmdir(d);
  enclos_buf_free(&dir);
  enclos_buf_free(&p);
  enclos_buf_free(&prov);
  enclos_buf_free(&ev);
  return rc;
}

/* 2. /dev/sev-guest ------------------------------------------------------------------ */

static int sev_ioctl(enclos_tee *t, int fd, unsigned long request, void *arg) {
  return t->sev_ioctl ? t->sev_ioctl(fd, request, arg, t->sev_ioctl_ctx) : ioctl(fd, request, arg);
}

/* MSG_REPORT_RSP (SEV-SNP ABI Table 23): status u32, report_size u32, 24 reserved, report. */
#define SNP_RSP_HDR 32

enclos_err tee__snp_ioctl_report(enclos_tee *t, const uint8_t rd[64], enclos_buf *out) {
  int fd = open(t->sev_guest, O_RDWR | O_CLOEXEC);
  ENCLOS_ENSUREF(fd >= 0, ENCLOS_E_IO, "open %s: %s", t->sev_guest, strerror(errno));
  struct snp_report_req req;
  struct snp_report_resp resp;
  memset(&req, 0, sizeof(req));
  memset(&resp, 0, sizeof(resp));
  memcpy(req.user_data, rd, 64);
  struct snp_guest_request_ioctl io = {.msg_version = 1,
                                       .req_data = (uint64_t)(uintptr_t)&req,
                                       .resp_data = (uint64_t)(uintptr_t)&resp};
  int r = sev_ioctl(t, fd, SNP_GET_REPORT, &io);
  int e = errno;
  close(fd);
  ENCLOS_ENSUREF(r == 0, ENCLOS_E_IO, "SNP_GET_REPORT: %s (fw_error 0x%x, vmm_error 0x%x)", strerror(e),
                 io.fw_error, io.vmm_error);
  uint32_t status = (uint32_t)resp.data[0] | (uint32_t)resp.data[1] << 8 | (uint32_t)resp.data[2] << 16 |
                    (uint32_t)resp.data[3] << 24;
  uint32_t size = (uint32_t)resp.data[4] | (uint32_t)resp.data[5] << 8 | (uint32_t)resp.data[6] << 16 |
                  (uint32_t)resp.data[7] << 24;
  ENCLOS_ENSUREF(status == 0, ENCLOS_E_IO, "SNP_GET_REPORT firmware status 0x%x", status);
  ENCLOS_ENSUREF(size == TEE__SNP_REPORT_SIZE, ENCLOS_E_MALFORMED, "SNP report size %u", size);
  enclos_buf ev = {resp.data + SNP_RSP_HDR, size, size, false};
  ENCLOS_TRY(tee__check_report_data(ENCLOS_TEE_SNP, &ev, rd));
  return enclos_buf_append(out, ev.data, ev.len);
}

/* MSG_KEY_REQ (Table 19): root_key_select 0 = VCEK; guest_field_select bit 3 = measurement,
 * so the key is bound to this launch measurement. MSG_KEY_RSP: status u32, 28 reserved, key. */
enclos_err tee__snp_ioctl_key(enclos_tee *t, uint8_t out[32]) {
  int fd = open(t->sev_guest, O_RDWR | O_CLOEXEC);
  ENCLOS_ENSUREF(fd >= 0, ENCLOS_E_IO, "open %s: %s", t->sev_guest, strerror(errno));
  struct snp_derived_key_req req;
  struct snp_derived_key_resp resp;
  memset(&req, 0, sizeof(req));
  memset(&resp, 0, sizeof(resp));
  req.guest_field_select = 1u << 3;
  struct snp_guest_request_ioctl io = {.msg_version = 1,
                                       .req_data = (uint64_t)(uintptr_t)&req,
                                       .resp_data = (uint64_t)(uintptr_t)&resp};
  int r = sev_ioctl(t, fd, SNP_GET_DERIVED_KEY, &io);
  int e = errno;
  close(fd);
  ENCLOS_ENSUREF(r == 0, ENCLOS_E_IO, "SNP_GET_DERIVED_KEY: %s", strerror(e));
  ENCLOS_ENSUREF(resp.data[0] == 0 && resp.data[1] == 0 && resp.data[2] == 0 && resp.data[3] == 0,
                 ENCLOS_E_IO, "SNP_GET_DERIVED_KEY firmware status nonzero");
  memcpy(out, resp.data + 32, 32);
  enclos_wipe(&resp, sizeof(resp));
  return ENCLOS_OK;
}
