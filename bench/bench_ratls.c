/* bench_ratls: leaf minting and verification time with the sim TEE (median of N runs).
 * Not a test; run: build/ratls-rel/bench/bench_ratls [N] [corpus-dir]. With a corpus dir it also
 * writes fuzz seeds (claims and evidence extensions) there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <enclos/ratls.h>
#include <enclos/time.h>
#include <enclos/verify.h>

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void seed(const char *dir, const char *sub, const char *name, const uint8_t *p, size_t n) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(p, 1, n, f);
    fclose(f);
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  if (n < 1 || n > 100000) n = 200;
  char dir[] = "/tmp/enclos-bench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  enclos_tee_config cfg = {.sim_state_dir = dir};
  enclos_tee *t;
  enclos_policy *p;
  if (enclos_tee_open(ENCLOS_TEE_SIM, &cfg, &t) != ENCLOS_OK ||
      enclos_policy_parse("{\"allow_sim\": true}", 19, &p) != ENCLOS_OK) {
    fprintf(stderr, "setup: %s\n", enclos_err_detail());
    return 1;
  }
  uint64_t *mint = calloc((size_t)n, sizeof(uint64_t)), *ver = calloc((size_t)n, sizeof(uint64_t));
  static const uint8_t root[32] = {1};
  for (int i = 0; i < n; i++) {
    enclos_ratls_leaf_opts o = {.config_root = root};
    enclos_pkey *k;
    enclos_x509 *c;
    uint64_t t0 = enclos_time_mono_ns();
    if (enclos_ratls_mint_leaf(t, &o, NULL, NULL, &k, &c) != ENCLOS_OK) return 1;
    uint64_t t1 = enclos_time_mono_ns();
    enclos_verify_opts vo = {.policy = p};
    enclos_verify_result r;
    if (enclos_verify_chain(&c, 1, &vo, &r) != ENCLOS_OK) return 1;
    uint64_t t2 = enclos_time_mono_ns();
    mint[i] = t1 - t0;
    ver[i] = t2 - t1;
    if (i == 0 && argc > 2) {
      const uint8_t *v;
      size_t vs;
      enclos_ratls_evidence ev;
      if (enclos_x509_extension(c, ENCLOS_RATLS_OID_EVIDENCE, &v, &vs, NULL) == ENCLOS_OK &&
          enclos_ratls_evidence_parse(v, vs, &ev) == ENCLOS_OK) {
        seed(argv[2], "certev", "sim_typed", v, vs);
        seed(argv[2], "claims", "leaf_claims", ev.claims, ev.claims_size);
      }
    }
    enclos_pkey_free(k);
    enclos_x509_free(c);
  }
  qsort(mint, (size_t)n, sizeof(uint64_t), cmp);
  qsort(ver, (size_t)n, sizeof(uint64_t), cmp);
  printf("sim leaf minting: median %.3f ms (p10 %.3f, p90 %.3f) over %d runs\n", (double)mint[n / 2] / 1e6,
         (double)mint[n / 10] / 1e6, (double)mint[n * 9 / 10] / 1e6, n);
  printf("sim leaf verification: median %.3f ms (p10 %.3f, p90 %.3f) over %d runs\n", (double)ver[n / 2] / 1e6,
         (double)ver[n / 10] / 1e6, (double)ver[n * 9 / 10] / 1e6, n);
  free(mint);
  free(ver);
  enclos_policy_free(p);
  enclos_tee_free(t);
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : 1;
}
