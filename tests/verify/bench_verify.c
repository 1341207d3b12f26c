/* bench_verify: median time to verify one piece of evidence with collateral already loaded
 * (issue 6 acceptance 4; goal < 1 ms each). Not a ctest test. Build a Release tree:
 *   CC=clang cmake -S . -B build/verify-rel -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build/verify-rel --target bench_verify && build/verify-rel/tests/verify/bench_verify */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/buf.h>
#include <enclos/time.h>
#include <enclos/verify_hw.h>

#define ATT ENCLOS_SHARED_DIR "/testdata/attestation/"
#define RUNS 301

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int load(const char *path, enclos_buf *out) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  enclos_buf raw = ENCLOS_BUF_INIT;
  uint8_t tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
    if (enclos_buf_append(&raw, tmp, n) != ENCLOS_OK) return -1;
  fclose(f);
  enclos_err rc = enclos_hw_evidence_decode(raw.data, raw.len, out);
  enclos_buf_free(&raw);
  return rc == ENCLOS_OK ? 0 : -1;
}

static int bench(const char *name, const char *evidence, const char *dir, const char *at) {
  enclos_buf ev = ENCLOS_BUF_INIT;
  enclos_hw_collateral *c = NULL;
  int64_t t;
  if (load(evidence, &ev) != 0 || enclos_hw_collateral_new(&c) != ENCLOS_OK ||
      enclos_hw_collateral_add_dir(c, dir) != ENCLOS_OK || enclos_time_parse(at, &t) != ENCLOS_OK) {
    fprintf(stderr, "%s: setup failed: %s\n", name, enclos_err_detail());
    return 1;
  }
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  for (int i = 1; i <= 7; i++) p.accepted[i - 1] = (enclos_tcb_status)i;
  p.accepted_count = 7;
  p.allow_debug = true;
  static uint64_t ns[RUNS];
  enclos_hw_result *r = malloc(sizeof *r);
  for (int i = 0; i < RUNS; i++) {
    uint64_t t0 = enclos_time_mono_ns();
    enclos_err rc = enclos_hw_verify(ev.data, ev.len, c, t, &p, r);
    ns[i] = enclos_time_mono_ns() - t0;
    if (rc != ENCLOS_OK) {
      fprintf(stderr, "%s: %s\n", name, r->reason);
      return 1;
    }
  }
  qsort(ns, RUNS, sizeof ns[0], cmp);
  printf("%-4s median %7.1f us  (p10 %7.1f, p90 %7.1f; %d runs; %zu checks)\n", name, (double)ns[RUNS / 2] / 1e3,
         (double)ns[RUNS / 10] / 1e3, (double)ns[RUNS * 9 / 10] / 1e3, RUNS, r->check_count);
  free(r);
  enclos_hw_collateral_free(c);
  enclos_buf_free(&ev);
  return 0;
}

int main(void) {
  int bad = 0;
  bad |= bench("SGX", ATT "sgx/phala-dcap-qvl/sgx_quote", ATT "sgx/phala-dcap-qvl", "2025-07-01T00:00:00Z");
  bad |= bench("TDX", ATT "tdx/phala-dcap-qvl/tdx_quote", ATT "tdx/phala-dcap-qvl", "2025-07-01T00:00:00Z");
  bad |= bench("SNP", ATT "snp/virtee-sev/report_milan.hex", ATT "snp/virtee-sev", "2024-01-01T00:00:00Z");
  return bad;
}
