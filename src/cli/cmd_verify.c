/* cmd_verify.c: `enclos verify EVIDENCE [--collateral DIR]... [--at TIME] [--policy p.json] [--json]`
 * (issue 6): verifies an Intel SGX/TDX quote or an AMD SEV-SNP report (binary or hex) offline
 * against a folder of collateral recognised by content, prints a verdict, and exits 0 only when
 * every check passes and the policy accepts the evidence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/buf.h>
#include <enclos/encoding.h>
#include <enclos/error.h>
#include <enclos/time.h>
#include <enclos/verify_hw.h>

#include "cli_int.h"

#define VERIFY_CLI_MAX_FILE ((size_t)16 << 20)
#define VERIFY_CLI_MAX_DIRS 8

static int verify_usage(void) {
  fprintf(stderr, "usage: enclos verify EVIDENCE [--collateral DIR]... [--fetch [--cache DIR] "
                  "[--product Milan|Genoa|Turin]] [--at TIME] [--policy FILE.json] [--json]\n");
  return CLI_EXIT_USAGE;
}

static void hex(FILE *o, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) fprintf(o, "%02x", p[i]);
}

static const char *tee_name(enclos_hw_tee t) {
  return t == ENCLOS_HW_SGX ? "SGX" : t == ENCLOS_HW_TDX ? "TDX" : t == ENCLOS_HW_SNP ? "SEV-SNP" : "unknown";
}

static void json_str(FILE *o, const char *s) {
  fputc('"', o);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(o, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(o, "\\u%04x", *s);
    else fputc(*s, o);
  }
  fputc('"', o);
}

typedef struct field {
  const char *name;
  const uint8_t *p;
  size_t n;
} field;

static size_t fields_of(const enclos_hw_result *r, field *f) {
  size_t k = 0;
  if (r->tee == ENCLOS_HW_SGX) {
    const enclos_sgx_report *e = &r->quote.enclave;
    f[k++] = (field){"mrenclave", e->mrenclave, 32};
    f[k++] = (field){"mrsigner", e->mrsigner, 32};
    f[k++] = (field){"attributes", e->attributes, 16};
  } else if (r->tee == ENCLOS_HW_TDX) {
    const enclos_td_report *t = &r->quote.td;
    f[k++] = (field){"mrtd", t->mrtd, 48};
    f[k++] = (field){"rtmr0", t->rtmr[0], 48};
    f[k++] = (field){"rtmr1", t->rtmr[1], 48};
    f[k++] = (field){"rtmr2", t->rtmr[2], 48};
    f[k++] = (field){"rtmr3", t->rtmr[3], 48};
    f[k++] = (field){"mrseam", t->mrseam, 48};
    f[k++] = (field){"mrsignerseam", t->mrsignerseam, 48};
    f[k++] = (field){"mrowner", t->mrowner, 48};
    f[k++] = (field){"mrconfigid", t->mrconfigid, 48};
    f[k++] = (field){"tee_tcb_svn", t->tee_tcb_svn, 16};
    if (t->tdx15) f[k++] = (field){"mrservicetd", t->mrservicetd, 48};
  } else if (r->tee == ENCLOS_HW_SNP) {
    const enclos_snp_report *s = &r->snp;
    f[k++] = (field){"measurement", s->measurement, 48};
    f[k++] = (field){"host_data", s->host_data, 32};
    f[k++] = (field){"id_key_digest", s->id_key_digest, 48};
    f[k++] = (field){"report_id", s->report_id, 32};
    f[k++] = (field){"chip_id", s->chip_id, 64};
  }
  f[k++] = (field){"report_data", r->report_data, 64};
  return k;
}

static void print_json(const enclos_hw_result *r) {
  char a[21], b[21];
  printf("{\"tee\":\"%s\",\"verified\":%s,\"accepted\":%s,\"tcb_status\":", tee_name(r->tee),
         r->verified ? "true" : "false", r->accepted ? "true" : "false");
  json_str(stdout, enclos_tcb_status_name(r->tcb_status));
  printf(",\"debug\":%s,\"advisory_ids\":[", r->debug ? "true" : "false");
  for (size_t i = 0; i < r->advisory_count; i++) {
    if (i) putchar(',');
    json_str(stdout, r->advisories[i]);
  }
  printf("],\"checks\":[");
  for (size_t i = 0; i < r->check_count; i++) {
    if (i) putchar(',');
    json_str(stdout, r->checks[i]);
  }
  printf("]");
  if (r->valid_from != INT64_MIN && r->valid_until != INT64_MAX) {
    enclos_time_format(r->valid_from, a);
    enclos_time_format(r->valid_until, b);
    printf(",\"collateral_valid_from\":\"%s\",\"collateral_valid_until\":\"%s\"", a, b);
  }
  if (r->failed_check != NULL) {
    printf(",\"failed_check\":");
    json_str(stdout, r->failed_check);
    printf(",\"reason\":");
    json_str(stdout, r->reason);
  }
  field f[16];
  size_t n = fields_of(r, f);
  printf(",\"measurements\":{");
  for (size_t i = 0; i < n; i++) {
    printf("%s\"%s\":\"", i ? "," : "", f[i].name);
    hex(stdout, f[i].p, f[i].n);
    putchar('"');
  }
  if (r->tee == ENCLOS_HW_SGX)
    printf(",\"isvprodid\":%u,\"isvsvn\":%u", r->quote.enclave.isv_prod_id, r->quote.enclave.isv_svn);
  if (r->tee == ENCLOS_HW_SNP)
    printf(",\"policy\":%llu,\"vmpl\":%u,\"guest_svn\":%u,\"version\":%u",
           (unsigned long long)r->snp.policy, r->snp.vmpl, r->snp.guest_svn, r->snp.version);
  printf("}}\n");
}

static void print_text(const enclos_hw_result *r) {
  printf("TEE:        %s\n", tee_name(r->tee));
  printf("checks:     ");
  for (size_t i = 0; i < r->check_count; i++) printf("%s%s", i ? ", " : "", r->checks[i]);
  printf("\n");
  if (r->tee != ENCLOS_HW_SNP && r->verified) {
    printf("TCB status: %s (platform %s, QE %s", enclos_tcb_status_name(r->tcb_status),
           enclos_tcb_status_name(r->platform_status), enclos_tcb_status_name(r->qe_status));
    if (r->tee == ENCLOS_HW_TDX) printf(", module %s", enclos_tcb_status_name(r->module_status));
    printf(")\n");
  }
  if (r->advisory_count > 0) {
    printf("advisories: ");
    for (size_t i = 0; i < r->advisory_count; i++) printf("%s%s", i ? ", " : "", r->advisories[i]);
    printf("\n");
  }
  if (r->valid_from != INT64_MIN && r->valid_until != INT64_MAX) {
    char a[21], b[21];
    enclos_time_format(r->valid_from, a);
    enclos_time_format(r->valid_until, b);
    printf("collateral: valid %s .. %s\n", a, b);
  }
  printf("debug:      %s\n", r->debug ? "yes" : "no");
  field f[16];
  size_t n = fields_of(r, f);
  for (size_t i = 0; i < n; i++) {
    printf("%-12s", f[i].name);
    hex(stdout, f[i].p, f[i].n);
    printf("\n");
  }
  if (r->accepted) printf("verdict:    ACCEPTED\n");
  else if (r->verified) printf("verdict:    REFUSED by policy: %s\n", r->reason);
  else printf("verdict:    REFUSED at %s: %s\n", r->failed_check ? r->failed_check : "?", r->reason);
}

int cli_cmd_verify(int argc, char **argv) {
  const char *evidence = NULL, *at_s = NULL, *policy_path = NULL;
  const char *dirs[VERIFY_CLI_MAX_DIRS];
  size_t n_dirs = 0;
  bool as_json = false, fetch = false;
  const char *cache = NULL, *product = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--collateral") == 0 && i + 1 < argc) {
      if (n_dirs >= VERIFY_CLI_MAX_DIRS) return cli_usage_error("verify", "too many --collateral");
      dirs[n_dirs++] = argv[++i];
    } else if (strcmp(a, "--at") == 0 && i + 1 < argc) {
      at_s = argv[++i];
    } else if (strcmp(a, "--policy") == 0 && i + 1 < argc) {
      policy_path = argv[++i];
    } else if (strcmp(a, "--json") == 0) {
      as_json = true;
    } else if (strcmp(a, "--fetch") == 0) {
      fetch = true;
    } else if (strcmp(a, "--cache") == 0 && i + 1 < argc) {
      cache = argv[++i];
    } else if (strcmp(a, "--product") == 0 && i + 1 < argc) {
      product = argv[++i];
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      return verify_usage();
    } else if (a[0] == '-' || evidence != NULL) {
      return verify_usage();
    } else {
      evidence = a;
    }
  }
  if (evidence == NULL) return verify_usage();
  int64_t at = enclos_time_now();
  if (at_s != NULL && enclos_time_parse(at_s, &at) != ENCLOS_OK)
    return cli_usage_error("verify", "bad --at time \"%s\" (want RFC 3339, e.g. 2025-07-01T00:00:00Z)", at_s);
  enclos_hw_policy policy;
  enclos_hw_policy_default(&policy);
  int status = CLI_EXIT_FAIL;
  enclos_buf raw = ENCLOS_BUF_INIT, ev = ENCLOS_BUF_INIT, pol = ENCLOS_BUF_INIT;
  enclos_hw_collateral *coll = NULL;
  if (policy_path != NULL) {
    if (!cli_read_file(policy_path, VERIFY_CLI_MAX_FILE, &pol)) {
      fprintf(stderr, "enclos verify: cannot read policy %s\n", policy_path);
      goto out;
    }
    if (enclos_hw_policy_load_json(pol.data, pol.len, &policy) != ENCLOS_OK) {
      fprintf(stderr, "enclos verify: policy %s: %s\n", policy_path, enclos_err_detail());
      goto out;
    }
  }
  if (!cli_read_file(evidence, VERIFY_CLI_MAX_FILE, &raw) ||
      enclos_hw_evidence_decode(raw.data, raw.len, &ev) != ENCLOS_OK) {
    fprintf(stderr, "enclos verify: cannot read evidence %s\n", evidence);
    goto out;
  }
  if (enclos_hw_collateral_new(&coll) != ENCLOS_OK) goto out;
  for (size_t i = 0; i < n_dirs; i++) {
    if (enclos_hw_collateral_add_dir(coll, dirs[i]) != ENCLOS_OK) {
      fprintf(stderr, "enclos verify: collateral %s: %s\n", dirs[i], enclos_err_detail());
      goto out;
    }
  }
  if (fetch) {
    enclos_hw_fetch_opts fo = {.cache_dir = cache, .amd_product = product, .now = at};
    if (enclos_hw_collateral_fetch(coll, ev.data, ev.len, &fo) != ENCLOS_OK) {
      fprintf(stderr, "enclos verify: fetching collateral: %s\n", enclos_err_detail());
      goto out;
    }
  }
  enclos_hw_result *r = calloc(1, sizeof *r);
  if (r == NULL) goto out;
  enclos_err rc = enclos_hw_verify(ev.data, ev.len, coll, at, &policy, r);
  if (as_json) print_json(r);
  else print_text(r);
  status = rc == ENCLOS_OK && r->accepted ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  free(r);
out:
  enclos_hw_collateral_free(coll);
  enclos_buf_free(&raw);
  enclos_buf_free(&ev);
  enclos_buf_free(&pol);
  return status;
}
