/* verify.c: entry point, result bookkeeping, TCB status names and the policy (issue 6). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <enclos/encoding.h>

#include "verify_int.h"

static const char *const status_names[] = {
    "Unknown", "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked"};

const char *enclos_tcb_status_name(enclos_tcb_status s) {
  return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "Unknown";
}

enclos_err enclos_tcb_status_parse(const char *s, enclos_tcb_status *out) {
  ENCLOS_ENSUREF(s != NULL && out != NULL, ENCLOS_E_INVAL, "status parse: NULL argument");
  for (unsigned i = 1; i < sizeof status_names / sizeof status_names[0]; i++) {
    if (strcmp(s, status_names[i]) == 0) {
      *out = (enclos_tcb_status)i;
      return ENCLOS_OK;
    }
  }
  ENCLOS_FAILF(ENCLOS_E_INVALID, "unknown TCB status \"%.40s\"", s);
}

void verify__pass(enclos_hw_result *r, const char *check) {
  if (r->check_count < ENCLOS_HW_MAX_CHECKS) r->checks[r->check_count++] = check;
}

enclos_err verify__fail(enclos_hw_result *r, const char *check, enclos_err err) {
  if (r->failed_check == NULL) {
    r->failed_check = check;
    r->error = err;
    snprintf(r->reason, sizeof r->reason, "%s", enclos_err_detail());
  }
  return err;
}

void verify__window(enclos_hw_result *r, int64_t from, int64_t until) {
  if (from > r->valid_from) r->valid_from = from;
  if (until < r->valid_until) r->valid_until = until;
}

void enclos_hw_policy_default(enclos_hw_policy *p) {
  memset(p, 0, sizeof *p);
  p->accepted[0] = ENCLOS_TCB_UP_TO_DATE;
  p->accepted_count = 1;
  p->snp_min_bootloader = p->snp_min_tee = p->snp_min_snp = p->snp_min_microcode = p->snp_min_fmc = -1;
}

static enclos_err hex_value(json_t *v, const char *key, uint8_t *out, size_t n, bool *has) {
  ENCLOS_ENSUREF(json_is_string(v) && json_string_length(v) == 2 * n, ENCLOS_E_INVALID,
                 "policy %s: want %zu hex digits", key, 2 * n);
  ENCLOS_TRY(enclos_hex_decode_to(out, n, json_string_value(v), 2 * n));
  if (has != NULL) *has = true;
  return ENCLOS_OK;
}

static enclos_err bool_value(json_t *v, const char *key, bool *out) {
  ENCLOS_ENSUREF(json_is_boolean(v), ENCLOS_E_INVALID, "policy %s: want a boolean", key);
  *out = json_is_true(v);
  return ENCLOS_OK;
}

static enclos_err int_value(json_t *v, const char *key, int64_t max, int64_t *out) {
  ENCLOS_ENSUREF(json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= max,
                 ENCLOS_E_INVALID, "policy %s: want an integer 0..%lld", key, (long long)max);
  *out = (int64_t)json_integer_value(v);
  return ENCLOS_OK;
}

/* "snp_min_tcb": {"bootloader": n, "tee": n, "snp": n, "microcode": n, "fmc": n} (each 0..255). */
static enclos_err snp_min_tcb(json_t *v, enclos_hw_policy *p) {
  ENCLOS_ENSUREF(json_is_object(v), ENCLOS_E_INVALID, "policy snp_min_tcb: want an object");
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x) {
    int *slot = strcmp(k, "bootloader") == 0 ? &p->snp_min_bootloader
                : strcmp(k, "tee") == 0       ? &p->snp_min_tee
                : strcmp(k, "snp") == 0       ? &p->snp_min_snp
                : strcmp(k, "microcode") == 0 ? &p->snp_min_microcode
                : strcmp(k, "fmc") == 0       ? &p->snp_min_fmc
                                              : NULL;
    ENCLOS_ENSUREF(slot != NULL, ENCLOS_E_INVALID,
                   "policy snp_min_tcb: unknown component \"%.40s\" (bootloader, tee, snp, microcode, fmc)", k);
    int64_t n;
    ENCLOS_TRY(int_value(x, "snp_min_tcb component", 255, &n));
    *slot = (int)n;
  }
  return ENCLOS_OK;
}

static enclos_err policy_key(const char *key, json_t *v, enclos_hw_policy *p) {
  static const char *const rtmr[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
  int64_t n;
  if (strcmp(key, "accepted_tcb_status") == 0) {
    ENCLOS_ENSUREF(json_is_array(v) && json_array_size(v) <= ENCLOS_HW_POLICY_MAX_STATUSES,
                   ENCLOS_E_INVALID, "policy accepted_tcb_status: want an array of <= %d",
                   ENCLOS_HW_POLICY_MAX_STATUSES);
    p->accepted_count = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
      ENCLOS_TRY(enclos_tcb_status_parse(json_string_value(json_array_get(v, i)), &p->accepted[i]));
      p->accepted_count++;
    }
    return ENCLOS_OK;
  }
  if (strcmp(key, "allow_debug") == 0) return bool_value(v, key, &p->allow_debug);
  if (strcmp(key, "allow_mrservicetd") == 0) return bool_value(v, key, &p->allow_mrservicetd);
  if (strcmp(key, "require_sept_ve_disable") == 0) return bool_value(v, key, &p->require_sept_ve_disable);
  if (strcmp(key, "relax_crl_freshness") == 0) return bool_value(v, key, &p->relax_crl_freshness);
  if (strcmp(key, "allow_missing_crls") == 0) return bool_value(v, key, &p->allow_missing_crls);
  if (strcmp(key, "allow_migration") == 0) return bool_value(v, key, &p->allow_migration);
  if (strcmp(key, "require_single_socket") == 0) return bool_value(v, key, &p->require_single_socket);
  if (strcmp(key, "forbid_smt") == 0) return bool_value(v, key, &p->forbid_smt);
  if (strcmp(key, "require_amd_crl") == 0) return bool_value(v, key, &p->require_amd_crl);
  if (strcmp(key, "grace_period_seconds") == 0) return int_value(v, key, INT64_C(1) << 40, &p->grace_seconds);
  if (strcmp(key, "mrenclave") == 0) return hex_value(v, key, p->mrenclave, 32, &p->has_mrenclave);
  if (strcmp(key, "mrsigner") == 0) return hex_value(v, key, p->mrsigner, 32, &p->has_mrsigner);
  if (strcmp(key, "mrtd") == 0) return hex_value(v, key, p->mrtd, 48, &p->has_mrtd);
  for (int i = 0; i < 4; i++)
    if (strcmp(key, rtmr[i]) == 0) return hex_value(v, key, p->rtmr[i], 48, &p->has_rtmr[i]);
  if (strcmp(key, "report_data") == 0) return hex_value(v, key, p->report_data, 64, &p->has_report_data);
  if (strcmp(key, "measurement") == 0) return hex_value(v, key, p->measurement, 48, &p->has_measurement);
  if (strcmp(key, "host_data") == 0) return hex_value(v, key, p->host_data, 32, &p->has_host_data);
  if (strcmp(key, "id_key_digest") == 0) return hex_value(v, key, p->id_key_digest, 48, &p->has_id_key_digest);
  if (strcmp(key, "author_key_digest") == 0)
    return hex_value(v, key, p->author_key_digest, 48, &p->has_author_key_digest);
  if (strcmp(key, "snp_min_tcb") == 0) return snp_min_tcb(v, p);
  if (strcmp(key, "isvprodid") == 0) {
    ENCLOS_TRY(int_value(v, key, 65535, &n));
    p->isvprodid = (uint16_t)n;
    p->has_isvprodid = true;
    return ENCLOS_OK;
  }
  if (strcmp(key, "min_isvsvn") == 0) {
    ENCLOS_TRY(int_value(v, key, 65535, &n));
    p->min_isvsvn = (uint16_t)n;
    return ENCLOS_OK;
  }
  if (strcmp(key, "min_guest_svn") == 0) {
    ENCLOS_TRY(int_value(v, key, UINT32_MAX, &n));
    p->min_guest_svn = (uint32_t)n;
    return ENCLOS_OK;
  }
  if (strcmp(key, "vmpl") == 0) {
    ENCLOS_TRY(int_value(v, key, 3, &n));
    p->vmpl = (uint32_t)n;
    p->has_vmpl = true;
    return ENCLOS_OK;
  }
  /* Unknown keys are errors so that a typo ("mrenclav") cannot silently weaken a policy. */
  ENCLOS_FAILF(ENCLOS_E_INVALID, "policy: unknown key \"%.60s\"", key);
}

static enclos_err load_object(json_t *o, enclos_hw_policy *p) {
  ENCLOS_ENSUREF(json_is_object(o), ENCLOS_E_INVALID, "policy: want a JSON object");
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) ENCLOS_TRY(policy_key(key, v, p));
  return ENCLOS_OK;
}

/* Policy JSON: see docs/attestation.md ("Hardware verifier policy"). */
enclos_err enclos_hw_policy_load_json(const void *data, size_t size, enclos_hw_policy *p) {
  ENCLOS_ENSUREF(data != NULL && p != NULL, ENCLOS_E_INVAL, "policy: NULL argument");
  json_error_t jerr;
  json_t *o = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD_ENSUREF(o != NULL && json_is_object(o), ENCLOS_E_MALFORMED, "policy JSON: %s",
                       o == NULL ? jerr.text : "not an object");
  ENCLOS_GUARD(load_object(o, p));
cleanup:
  json_decref(o);
  return rc;
}

enclos_err enclos_hw_evidence_decode(const void *data, size_t size, enclos_buf *out) {
  ENCLOS_ENSUREF(data != NULL && out != NULL, ENCLOS_E_INVAL, "evidence decode: NULL argument");
  const char *s = data;
  size_t i = 0, digits = 0;
  while (i < size && isspace((unsigned char)s[i])) i++;
  if (i + 1 < size && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) i += 2;
  size_t start = i;
  bool hex = i < size;
  for (size_t j = i; j < size && hex; j++) {
    if (isxdigit((unsigned char)s[j])) digits++;
    else if (!isspace((unsigned char)s[j])) hex = false;
  }
  if (!hex || digits % 2 != 0 || digits == 0) return enclos_buf_append(out, data, size);
  ENCLOS_TRY(enclos_buf_reserve(out, digits / 2));
  int hi = -1;
  for (size_t j = start; j < size; j++) {
    unsigned char ch = (unsigned char)s[j];
    if (!isxdigit(ch)) continue;
    int v = isdigit(ch) ? ch - '0' : (tolower(ch) - 'a' + 10);
    if (hi < 0) {
      hi = v;
    } else {
      ENCLOS_TRY(enclos_buf_append_u8(out, (uint8_t)(hi << 4 | v)));
      hi = -1;
    }
  }
  return ENCLOS_OK;
}

enclos_err enclos_hw_verify(const void *evidence, size_t size, const enclos_hw_collateral *coll,
                            int64_t at, const enclos_hw_policy *policy, enclos_hw_result *res) {
  ENCLOS_ENSUREF(evidence != NULL && coll != NULL && res != NULL, ENCLOS_E_INVAL,
                 "verify: NULL argument");
  memset(res, 0, sizeof *res);
  res->valid_from = INT64_MIN;
  res->valid_until = INT64_MAX;
  enclos_hw_policy def;
  if (policy == NULL) {
    enclos_hw_policy_default(&def);
    policy = &def;
  }
  const uint8_t *p = evidence;
  /* An SNP report is exactly 1184 bytes and starts with VERSION (u32 >= 2, small); an Intel quote
   * starts with u16 version 3..5 and u16 key type 2. */
  bool intel = size >= 4 && p[0] >= 3 && p[0] <= 5 && p[1] == 0 && p[2] == 2 && p[3] == 0;
  enclos_err rc = intel ? verify__intel(p, size, coll, at, policy, res)
                        : verify__snp(p, size, coll, at, policy, res);
  if (rc != ENCLOS_OK && res->failed_check == NULL) verify__fail(res, "internal", rc);
  return rc;
}
