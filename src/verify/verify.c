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
}

static enclos_err hex_field(json_t *o, const char *key, uint8_t *out, size_t n, bool *has) {
  json_t *v = json_object_get(o, key);
  if (v == NULL) return ENCLOS_OK;
  ENCLOS_ENSUREF(json_is_string(v) && json_string_length(v) == 2 * n, ENCLOS_E_INVALID,
                 "policy %s: want %zu hex digits", key, 2 * n);
  ENCLOS_TRY(enclos_hex_decode_to(out, n, json_string_value(v), 2 * n));
  if (has != NULL) *has = true;
  return ENCLOS_OK;
}

static enclos_err bool_field(json_t *o, const char *key, bool *out) {
  json_t *v = json_object_get(o, key);
  if (v == NULL) return ENCLOS_OK;
  ENCLOS_ENSUREF(json_is_boolean(v), ENCLOS_E_INVALID, "policy %s: want a boolean", key);
  *out = json_is_true(v);
  return ENCLOS_OK;
}

static enclos_err int_field(json_t *o, const char *key, int64_t max, int64_t *out) {
  json_t *v = json_object_get(o, key);
  if (v == NULL) return ENCLOS_OK;
  ENCLOS_ENSUREF(json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= max,
                 ENCLOS_E_INVALID, "policy %s: want an integer 0..%lld", key, (long long)max);
  *out = (int64_t)json_integer_value(v);
  return ENCLOS_OK;
}

/* Policy JSON (a subset shared with the RA-TLS verifier's keys):
 * {"accepted_tcb_status":["UpToDate",...], "allow_debug":false, "allow_mrservicetd":false,
 *  "require_sept_ve_disable":false, "relax_crl_freshness":false, "allow_missing_crls":false,
 *  "grace_period_seconds":0, "mrenclave":"hex", "mrsigner":"hex", "isvprodid":0, "min_isvsvn":0,
 *  "mrtd":"hex", "rtmr0".."rtmr3":"hex", "report_data":"hex", "measurement":"hex",
 *  "host_data":"hex", "min_guest_svn":0} */
enclos_err enclos_hw_policy_load_json(const void *data, size_t size, enclos_hw_policy *p) {
  ENCLOS_ENSUREF(data != NULL && p != NULL, ENCLOS_E_INVAL, "policy: NULL argument");
  json_error_t jerr;
  json_t *o = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD_ENSUREF(o != NULL && json_is_object(o), ENCLOS_E_MALFORMED, "policy JSON: %s",
                       o == NULL ? jerr.text : "not an object");
  json_t *acc = json_object_get(o, "accepted_tcb_status");
  if (acc != NULL) {
    ENCLOS_GUARD_ENSUREF(json_is_array(acc) && json_array_size(acc) <= ENCLOS_HW_POLICY_MAX_STATUSES,
                         ENCLOS_E_INVALID, "policy accepted_tcb_status: want an array of <= %d",
                         ENCLOS_HW_POLICY_MAX_STATUSES);
    p->accepted_count = 0;
    for (size_t i = 0; i < json_array_size(acc); i++) {
      const char *s = json_string_value(json_array_get(acc, i));
      ENCLOS_GUARD(enclos_tcb_status_parse(s, &p->accepted[p->accepted_count]));
      p->accepted_count++;
    }
  }
  ENCLOS_GUARD(bool_field(o, "allow_debug", &p->allow_debug));
  ENCLOS_GUARD(bool_field(o, "allow_mrservicetd", &p->allow_mrservicetd));
  ENCLOS_GUARD(bool_field(o, "require_sept_ve_disable", &p->require_sept_ve_disable));
  ENCLOS_GUARD(bool_field(o, "relax_crl_freshness", &p->relax_crl_freshness));
  ENCLOS_GUARD(bool_field(o, "allow_missing_crls", &p->allow_missing_crls));
  ENCLOS_GUARD(int_field(o, "grace_period_seconds", INT64_C(1) << 40, &p->grace_seconds));
  ENCLOS_GUARD(hex_field(o, "mrenclave", p->mrenclave, 32, &p->has_mrenclave));
  ENCLOS_GUARD(hex_field(o, "mrsigner", p->mrsigner, 32, &p->has_mrsigner));
  ENCLOS_GUARD(hex_field(o, "mrtd", p->mrtd, 48, &p->has_mrtd));
  static const char *const rtmr[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
  for (int i = 0; i < 4; i++) ENCLOS_GUARD(hex_field(o, rtmr[i], p->rtmr[i], 48, &p->has_rtmr[i]));
  ENCLOS_GUARD(hex_field(o, "report_data", p->report_data, 64, &p->has_report_data));
  ENCLOS_GUARD(hex_field(o, "measurement", p->measurement, 48, &p->has_measurement));
  ENCLOS_GUARD(hex_field(o, "host_data", p->host_data, 32, &p->has_host_data));
  int64_t v = -1;
  ENCLOS_GUARD(int_field(o, "isvprodid", 65535, &v));
  if (v >= 0) {
    p->isvprodid = (uint16_t)v;
    p->has_isvprodid = true;
  }
  v = p->min_isvsvn;
  ENCLOS_GUARD(int_field(o, "min_isvsvn", 65535, &v));
  p->min_isvsvn = (uint16_t)v;
  v = p->min_guest_svn;
  ENCLOS_GUARD(int_field(o, "min_guest_svn", UINT32_MAX, &v));
  p->min_guest_svn = (uint32_t)v;
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
