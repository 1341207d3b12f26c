/* Online collateral fetcher against a local python3 http.server on 127.0.0.1 that serves the shared
 * test data the way Intel PCS v4 and AMD KDS do (issue 6): fetch, verify, cache honouring
 * nextUpdate (a stale item is refetched, fresh ones are served from the cache with the server down). */
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "vh.h"

#define MC ATT("sgx/mobilecoin-attestation/")
#define VS ATT("snp/virtee-sev/")

typedef struct srv {
  char dir[64];
  int port;
  pid_t pid;
} srv;

/* A failing CHECK exits the test process: the server must not outlive it. */
static pid_t live_server;
static void kill_live_server(void) {
  if (live_server > 0) kill(live_server, SIGTERM);
}

static bool srv_start(srv *s) {
  snprintf(s->dir, sizeof s->dir, "/tmp/enclos_fetch_XXXXXX");
  CHECK(mkdtemp(s->dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/cfg.json", s->dir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f == NULL) return false;
  fprintf(f,
          "{\"/sgx/certification/v4/tcb\":{\"file\":\"%s\",\"headers\":{\"TCB-Info-Issuer-Chain\":[\"%s\",\"%s\"]}},"
          "\"/sgx/certification/v4/qe/identity\":{\"file\":\"%s\",\"headers\":{\"SGX-Enclave-Identity-Issuer-"
          "Chain\":[\"%s\",\"%s\"]}},"
          "\"/sgx/certification/v4/pckcrl\":{\"file\":\"%s\",\"headers\":{\"SGX-PCK-CRL-Issuer-Chain\":[\"%s\","
          "\"%s\"]}},"
          "\"/IntelSGXRootCA.der\":{\"file\":\"%s\"},"
          "\"/vcek/v1/Milan/cert_chain\":{\"file\":\"%s\"},"
          "\"/vcek/v1/Milan/crl\":{\"file\":\"%s\"},"
          "\"/vcek/v1/Milan/d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f"
          "0efacfd08e244324884738c72b082e2f87a44d541eb6\":{\"file\":\"%s\"}}",
          MC "fmspc_00906ED50000_2023_07_12.json", MC "tcb_signer.pem", MC "root_ca.pem", MC "qe_identity.json",
          MC "tcb_signer.pem", MC "root_ca.pem", MC "processor_crl.der", MC "processor_ca.pem", MC "root_ca.pem",
          MC "root_crl.der", VS "cert_chain_milan",
          /* No real ARK-signed CRL exists here: an unrelated CRL stands in, which the verifier
           * ignores (not issued by the ARK); the test checks that it is fetched and cached. */
          MC "root_crl.der", VS "vcek_milan.der");
  fclose(f);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "python3 %s/tests/verify/collateral_server.py %s/cfg.json %s/port %s/log >/dev/null 2>&1 & "
           "echo $! > %s/pid",
           ENCLOS_SOURCE_DIR, s->dir, s->dir, s->dir, s->dir);
  CHECK_EQ_INT(system(cmd), 0);
  char pp[256];
  snprintf(pp, sizeof pp, "%s/port", s->dir);
  for (int i = 0; i < 100; i++) {
    FILE *pf = fopen(pp, "r");
    if (pf != NULL) {
      int ok = fscanf(pf, "%d", &s->port);
      fclose(pf);
      if (ok == 1) break;
    }
    usleep(50000);
  }
  snprintf(pp, sizeof pp, "%s/pid", s->dir);
  FILE *pf = fopen(pp, "r");
  int pid = 0;
  if (pf != NULL) {
    CHECK_EQ_INT(fscanf(pf, "%d", &pid), 1);
    fclose(pf);
  }
  s->pid = (pid_t)pid;
  static bool registered;
  if (!registered) registered = atexit(kill_live_server) == 0;
  live_server = s->pid;
  CHECK(s->port > 0 && s->pid > 0);
  return s->port > 0 && s->pid > 0;
}

static void srv_stop(srv *s) {
  if (s->pid > 0) kill(s->pid, SIGTERM);
  s->pid = 0;
  live_server = 0;
  usleep(100000);
}

static void srv_clean(srv *s) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
  CHECK_EQ_INT(system(cmd), 0);
}

static enclos_err fetch(const srv *s, const enclos_buf *ev, const char *now, enclos_hw_collateral **c) {
  char base[64], root[96], cache[96];
  snprintf(base, sizeof base, "http://127.0.0.1:%d", s->port);
  snprintf(root, sizeof root, "%s/IntelSGXRootCA.der", base);
  snprintf(cache, sizeof cache, "%s/cache", s->dir);
  enclos_hw_fetch_opts o = {.intel_pcs_url = base, .intel_root_crl_url = root, .amd_kds_url = base,
                            .amd_product = "Milan", .cache_dir = cache, .now = vh_time(now),
                            .timeout_seconds = 5};
  CHECK_OK(enclos_hw_collateral_new(c));
  return enclos_hw_collateral_fetch(*c, ev->data, ev->len, &o);
}

TEST(fetch_intel_pcs_and_cache) {
  srv s;
  if (!srv_start(&s)) return;
  enclos_buf q = vh_evidence(MC "hw_quote.dat");
  enclos_hw_collateral *c = NULL;
  CHECK_OK(fetch(&s, &q, "2023-07-20T00:00:00Z", &c));
  enclos_hw_policy p;
  enclos_hw_policy_default(&p);
  p.accepted[1] = ENCLOS_TCB_SW_HARDENING_NEEDED;
  p.accepted_count = 2;
  p.relax_crl_freshness = true;
  enclos_hw_result r;
  CHECK_OK(enclos_hw_verify(q.data, q.len, c, vh_time("2023-07-20T00:00:00Z"), &p, &r));
  vh_dump(&r);
  CHECK_EQ_INT(r.tcb_status, ENCLOS_TCB_SW_HARDENING_NEEDED);
  enclos_hw_collateral_free(c);
  srv_stop(&s);
  /* Server down: the PCK CRL in the cache is past its nextUpdate, so it must be refetched → fails. */
  CHECK_ERR(fetch(&s, &q, "2023-07-20T00:00:00Z", &c), ENCLOS_E_IO);
  enclos_hw_collateral_free(c);
  /* At a time when every cached item is before its nextUpdate the cache alone serves. */
  CHECK_OK(fetch(&s, &q, "2023-05-01T00:00:00Z", &c));
  enclos_hw_collateral_free(c);
  enclos_buf_free(&q);
  srv_clean(&s);
}

TEST(fetch_amd_kds_vcek) {
  srv s;
  if (!srv_start(&s)) return;
  enclos_buf rep = vh_evidence(VS "report_milan.hex");
  enclos_hw_collateral *c = NULL;
  CHECK_OK(fetch(&s, &rep, "2024-01-01T00:00:00Z", &c));
  enclos_hw_result r;
  CHECK_OK(enclos_hw_verify(rep.data, rep.len, c, vh_time("2024-01-01T00:00:00Z"), NULL, &r));
  enclos_hw_collateral_free(c);
  char lp[128];
  snprintf(lp, sizeof lp, "%s/log", s.dir);
  enclos_buf log = vh_read(lp);
  CHECK_OK(enclos_buf_append_u8(&log, 0));
  CHECK_CONTAINS((const char *)log.data, "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
  CHECK_CONTAINS((const char *)log.data, "/vcek/v1/Milan/crl");
  enclos_buf_free(&log);
  srv_stop(&s);
  /* VCEK, chain and CRL are served from the cache while valid. */
  CHECK_OK(fetch(&s, &rep, "2024-01-01T00:00:00Z", &c));
  enclos_hw_collateral_free(c);
  enclos_buf_free(&rep);
  srv_clean(&s);
}
