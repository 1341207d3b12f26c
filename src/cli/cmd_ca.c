/* cmd_ca.c: operator PKI (docs/attestation.md §6).
 *   enclos ca init DIR                      P-384 root: DIR/root.key (0600), DIR/root.crt
 *   enclos ca sign --ca DIR --csr FILE --policy FILE.json --out FILE [--days N]
 *                  [--collateral DIR]... [--fetch [--cache DIR]]   (hardware evidence)
 *     checks the evidence in the CSR (bound to the CSR's key) against the policy, then signs
 *     an intermediate CA certificate (CA:TRUE, pathlen 0) for the key generated in the TEE. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <enclos/crypto.h>
#include <enclos/ratls.h>
#include <enclos/time.h>
#include <enclos/verify.h>
#include <enclos/x509_make.h>

#include "cli_int.h"

#define CA_MAX_FILE (1u << 20)

static int fail(const char *what) {
  fprintf(stderr, "enclos ca: %s: %s\n", what, enclos_err_detail());
  return CLI_EXIT_FAIL;
}

static bool write_file(const char *path, const enclos_buf *b, int mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) return false;
  bool ok = write(fd, b->data, b->len) == (ssize_t)b->len;
  return close(fd) == 0 && ok;
}

static int ca_init(const char *dir) {
  if (enclos_ratls_root_create(dir, "enclos operator root CA", "enclos operator") != ENCLOS_OK)
    return fail("creating the root");
  printf("operator root written: %s/root.key (private, keep offline) and %s/root.crt (give to "
         "clients)\n",
         dir, dir);
  return CLI_EXIT_OK;
}

static int ca_sign(const char *dir, const char *csr_path, const char *policy_path, const char *out, int days,
                   cli_hw_source *hw) {
  char kp[4096], cp[4096];
  snprintf(kp, sizeof(kp), "%s/root.key", dir);
  snprintf(cp, sizeof(cp), "%s/root.crt", dir);
  enclos_buf kb = ENCLOS_BUF_INIT, cb = ENCLOS_BUF_INIT, csrb = ENCLOS_BUF_INIT, ext = ENCLOS_BUF_INIT,
             spki = ENCLOS_BUF_INIT, pem = ENCLOS_BUF_INIT;
  kb.secret = true;
  enclos_pkey *rk = NULL, *sk = NULL;
  enclos_x509 **roots = NULL, *inter = NULL;
  size_t nroots = 0;
  enclos_x509_csr *csr = NULL;
  enclos_policy *pol = NULL;
  int st = CLI_EXIT_FAIL;
  if (!cli_read_file(kp, CA_MAX_FILE, &kb) || !cli_read_file(cp, CA_MAX_FILE, &cb) ||
      !cli_read_file(csr_path, CA_MAX_FILE, &csrb)) {
    fprintf(stderr, "enclos ca: cannot read %s, %s or %s\n", kp, cp, csr_path);
    goto done;
  }
  if (enclos_pkey_from_private(kb.data, kb.len, &rk) || enclos_x509_list_parse(cb.data, cb.len, &roots, &nroots) ||
      nroots != 1) {
    st = fail("loading the root");
    goto done;
  }
  if (enclos_policy_load(policy_path, &pol)) {
    st = fail("policy");
    goto done;
  }
  if (enclos_x509_csr_parse(csrb.data, csrb.len, &csr) || enclos_x509_csr_pubkey(csr, &sk) ||
      enclos_pkey_spki(sk, &spki)) {
    st = fail("CSR");
    goto done;
  }
  if (enclos_x509_csr_extension(csr, ENCLOS_RATLS_OID_EVIDENCE, &ext, NULL)) {
    st = fail("CSR carries no evidence");
    goto done;
  }
  int64_t now = enclos_time_now();
  enclos_verify_opts vo = {.policy = pol, .now = now};
  if (cli_hw_source_apply(hw, &vo, now) != ENCLOS_OK) {
    st = fail("collateral");
    goto done;
  }
  enclos_verify_result r;
  if (enclos_verify_evidence(ENCLOS_RATLS_OID_EVIDENCE, ext.data, ext.len, spki.data, spki.len, &vo, &r)) {
    st = fail("REFUSED: CSR evidence");
    goto done;
  }
  r.not_before = now;
  if (enclos_policy_check(pol, &r, now)) {
    st = fail("REFUSED");
    goto done;
  }
  enclos_x509_make_opts o = {.subject_cn = "enclos intermediate CA", .subject_o = "enclos",
                             .not_before = now - 60, .not_after = now + (int64_t)days * 86400,
                             .is_ca = true, .path_len = 0};
  if (enclos_x509_make(sk, &o, roots[0], rk, &inter) || enclos_x509_pem(inter, &pem)) {
    st = fail("signing");
    goto done;
  }
  if (!write_file(out, &pem, 0644)) {
    fprintf(stderr, "enclos ca: cannot create %s (exists already?)\n", out);
    goto done;
  }
  printf("evidence verified (%s, %s); intermediate CA written to %s, valid %d days\n",
         enclos_tee_kind_name(r.tee), enclos_evidence_format_name(r.format), out, days);
  st = CLI_EXIT_OK;
done:
  enclos_buf_free(&kb);
  enclos_buf_free(&cb);
  enclos_buf_free(&csrb);
  enclos_buf_free(&ext);
  enclos_buf_free(&spki);
  enclos_buf_free(&pem);
  enclos_pkey_free(rk);
  enclos_pkey_free(sk);
  if (roots) enclos_x509_list_free(roots, nroots);
  enclos_x509_free(inter);
  enclos_x509_csr_free(csr);
  enclos_policy_free(pol);
  return st;
}

int cli_cmd_ca(int argc, char **argv) {
  static const char usage[] = "usage: enclos ca init DIR | enclos ca sign --ca DIR --csr FILE --policy FILE.json "
                              "--out FILE [--days N] " CLI_HW_USAGE;
  if (argc == 3 && strcmp(argv[1], "init") == 0) return ca_init(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "sign") == 0) {
    const char *dir = NULL, *csr = NULL, *pol = NULL, *out = NULL;
    int days = 30;
    cli_hw_source hw = {0};
    for (int i = 2; i < argc; i++) {
      int h = cli_hw_source_arg(&hw, argc, argv, &i);
      if (h < 0) return cli_usage_error("ca", "%s", usage);
      if (h > 0) continue;
      if (i + 1 >= argc) return cli_usage_error("ca", "%s", usage);
      if (strcmp(argv[i], "--ca") == 0) dir = argv[++i];
      else if (strcmp(argv[i], "--csr") == 0) csr = argv[++i];
      else if (strcmp(argv[i], "--policy") == 0) pol = argv[++i];
      else if (strcmp(argv[i], "--out") == 0) out = argv[++i];
      else if (strcmp(argv[i], "--days") == 0) days = atoi(argv[++i]);
      else return cli_usage_error("ca", "%s", usage);
    }
    if (!dir || !csr || !pol || !out || days < 1 || days > 3650) return cli_usage_error("ca", "%s", usage);
    int st = ca_sign(dir, csr, pol, out, days, &hw);
    cli_hw_source_free(&hw);
    return st;
  }
  return cli_usage_error("ca", "%s", usage);
}
