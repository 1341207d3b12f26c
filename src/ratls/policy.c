/* policy.c: the client's JSON policy (docs/attestation.md §8). Unknown keys are errors so that a
 * typo ("measurement") cannot silently weaken a policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <enclos/encoding.h>
#include <enclos/mem.h>
#include <enclos/verify.h>
#include <enclos/verify_hw.h>

#include "ratls_int.h"

struct enclos_policy {
  bool allow_sim;
  size_t n_tees;
  enclos_tee_kind tees[ENCLOS_POLICY_MAX_LIST];
  bool has_tees;
  size_t n_meas;
  uint8_t meas[ENCLOS_POLICY_MAX_LIST][ENCLOS_MEASUREMENT_MAX];
  size_t meas_size[ENCLOS_POLICY_MAX_LIST];
  bool has_meas;
  bool has_config_root;
  uint8_t config_root[32];
  bool has_app_name, has_app_code;
  char app_name[ENCLOS_CLAIMS_MAX_APP_NAME + 1];
  uint8_t app_code[32];
  bool has_tcb;
  size_t n_tcb;
  char tcb[ENCLOS_POLICY_MAX_LIST][ENCLOS_TCB_STATUS_MAX];
  bool has_max_age;
  int64_t max_age;
  enclos_hw_policy hw; /* what the hardware verifier applies to SGX/TDX/SNP evidence */
  bool hw_has_statuses;
};

const enclos_hw_policy *ratls__policy_hw(const enclos_policy *p) { return &p->hw; }

static enclos_err hex_fixed(json_t *v, const char *key, uint8_t *out, size_t min, size_t max, size_t *got) {
  ENCLOS_ENSUREF(json_is_string(v), ENCLOS_E_INVALID, "policy: %s must be a hex string", key);
  const char *s = json_string_value(v);
  size_t n = strlen(s);
  ENCLOS_ENSUREF(n % 2 == 0 && n / 2 >= min && n / 2 <= max, ENCLOS_E_INVALID,
                 "policy: %s must be %zu..%zu bytes of hex, got %zu characters", key, min, max, n);
  ENCLOS_TRY(enclos_hex_decode_to(out, n / 2, s, n));
  if (got) *got = n / 2;
  return ENCLOS_OK;
}

static enclos_err list(json_t *v, const char *key, size_t *n) {
  ENCLOS_ENSUREF(json_is_array(v), ENCLOS_E_INVALID, "policy: %s must be a list", key);
  *n = json_array_size(v);
  ENCLOS_ENSUREF(*n <= ENCLOS_POLICY_MAX_LIST, ENCLOS_E_LIMIT, "policy: %s has more than %d entries", key,
                 ENCLOS_POLICY_MAX_LIST);
  return ENCLOS_OK;
}

static enclos_err parse_obj(json_t *o, enclos_policy *p) {
  ENCLOS_ENSUREF(json_is_object(o), ENCLOS_E_INVALID, "policy: top level must be a JSON object");
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (strcmp(key, "allow_sim") == 0) {
      ENCLOS_ENSUREF(json_is_boolean(v), ENCLOS_E_INVALID, "policy: allow_sim must be true or false");
      p->allow_sim = json_is_true(v);
    } else if (strcmp(key, "tee") == 0) {
      ENCLOS_TRY(list(v, key, &p->n_tees));
      for (size_t i = 0; i < p->n_tees; i++) {
        json_t *e = json_array_get(v, i);
        ENCLOS_ENSUREF(json_is_string(e), ENCLOS_E_INVALID, "policy: tee[%zu] must be a string", i);
        ENCLOS_TRY(enclos_tee_kind_parse(json_string_value(e), &p->tees[i]));
      }
      p->has_tees = true;
    } else if (strcmp(key, "measurements") == 0) {
      ENCLOS_TRY(list(v, key, &p->n_meas));
      for (size_t i = 0; i < p->n_meas; i++)
        ENCLOS_TRY(hex_fixed(json_array_get(v, i), "measurements[]", p->meas[i], 16, ENCLOS_MEASUREMENT_MAX,
                             &p->meas_size[i]));
      p->has_meas = true;
    } else if (strcmp(key, "config_root") == 0) {
      ENCLOS_TRY(hex_fixed(v, key, p->config_root, 32, 32, NULL));
      p->has_config_root = true;
    } else if (strcmp(key, "app") == 0) {
      ENCLOS_ENSUREF(json_is_object(v), ENCLOS_E_INVALID, "policy: app must be an object");
      const char *k2;
      json_t *v2;
      json_object_foreach(v, k2, v2) {
        if (strcmp(k2, "name") == 0) {
          ENCLOS_ENSUREF(json_is_string(v2) && strlen(json_string_value(v2)) <= ENCLOS_CLAIMS_MAX_APP_NAME,
                         ENCLOS_E_INVALID, "policy: app.name must be a string of at most %d bytes",
                         ENCLOS_CLAIMS_MAX_APP_NAME);
          snprintf(p->app_name, sizeof(p->app_name), "%s", json_string_value(v2));
          p->has_app_name = true;
        } else if (strcmp(k2, "code_hash") == 0) {
          ENCLOS_TRY(hex_fixed(v2, "app.code_hash", p->app_code, 32, 32, NULL));
          p->has_app_code = true;
        } else {
          ENCLOS_FAILF(ENCLOS_E_INVALID, "policy: unknown key app.%s", k2);
        }
      }
    } else if (strcmp(key, "tcb_status") == 0) {
      ENCLOS_TRY(list(v, key, &p->n_tcb));
      ENCLOS_ENSUREF(p->n_tcb <= ENCLOS_HW_POLICY_MAX_STATUSES, ENCLOS_E_LIMIT,
                     "policy: tcb_status has more than %d entries", ENCLOS_HW_POLICY_MAX_STATUSES);
      for (size_t i = 0; i < p->n_tcb; i++) {
        json_t *e = json_array_get(v, i);
        ENCLOS_ENSUREF(json_is_string(e) && strlen(json_string_value(e)) < ENCLOS_TCB_STATUS_MAX,
                       ENCLOS_E_INVALID, "policy: tcb_status[%zu] must be a short string", i);
        /* Intel's spelling only: a typo must not silently accept nothing or everything. */
        ENCLOS_TRY(enclos_tcb_status_parse(json_string_value(e), &p->hw.accepted[i]));
        snprintf(p->tcb[i], sizeof(p->tcb[i]), "%s", json_string_value(e));
      }
      p->hw.accepted_count = p->n_tcb;
      p->has_tcb = true;
    } else if (strcmp(key, "max_age_s") == 0) {
      ENCLOS_ENSUREF(json_is_integer(v) && json_integer_value(v) > 0, ENCLOS_E_INVALID,
                     "policy: max_age_s must be a positive integer");
      p->max_age = (int64_t)json_integer_value(v);
      p->has_max_age = true;
    } else if (strcmp(key, "hardware") == 0) {
      /* The hardware verifier's own settings (src/verify): strict about unknown keys too. */
      ENCLOS_ENSUREF(json_is_object(v), ENCLOS_E_INVALID, "policy: hardware must be an object");
      char *text = json_dumps(v, JSON_COMPACT);
      ENCLOS_ENSUREF(text != NULL, ENCLOS_E_NOMEM, "policy: hardware");
      enclos_err rc = enclos_hw_policy_load_json(text, strlen(text), &p->hw);
      free(text);
      if (rc != ENCLOS_OK) {
        char why[200];
        snprintf(why, sizeof(why), "%s", enclos_err_detail());
        ENCLOS_FAILF(rc, "policy: hardware: %s", why);
      }
      p->hw_has_statuses = json_object_get(v, "accepted_tcb_status") != NULL;
    } else {
      ENCLOS_FAILF(ENCLOS_E_INVALID, "policy: unknown key '%s'", key);
    }
  }
  return ENCLOS_OK;
}

enclos_err enclos_policy_parse(const char *text, size_t size, enclos_policy **out) {
  ENCLOS_ENSURE_REF(text);
  ENCLOS_ENSUREF(size <= ENCLOS_POLICY_MAX_SIZE, ENCLOS_E_LIMIT, "policy of %zu bytes", size);
  json_error_t jerr;
  json_t *o = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
  ENCLOS_ENSUREF(o != NULL, ENCLOS_E_MALFORMED, "policy: JSON error at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
  enclos_policy *p = enclos_calloc(1, sizeof(*p));
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD_ENSUREF(p != NULL, ENCLOS_E_NOMEM, "policy");
  enclos_hw_policy_default(&p->hw);
  ENCLOS_GUARD(parse_obj(o, p));
  ENCLOS_GUARD_ENSUREF(!(p->has_tcb && p->hw_has_statuses), ENCLOS_E_INVALID,
                       "policy: give the accepted TCB statuses once (tcb_status or hardware.accepted_tcb_status)");
  if (p->hw_has_statuses) {
    /* Mirror them so that enclos_policy_check applies the same list. */
    p->n_tcb = p->hw.accepted_count;
    for (size_t i = 0; i < p->n_tcb; i++)
      snprintf(p->tcb[i], sizeof(p->tcb[i]), "%s", enclos_tcb_status_name(p->hw.accepted[i]));
    p->has_tcb = true;
  }
  *out = p;
  p = NULL;
cleanup:
  enclos_free(p);
  json_decref(o);
  return rc;
}

enclos_err enclos_policy_load(const char *path, enclos_policy **out) {
  FILE *f = fopen(path, "rb");
  ENCLOS_ENSUREF(f != NULL, ENCLOS_E_NOT_FOUND, "policy file %s cannot be opened", path);
  char *buf = enclos_malloc(ENCLOS_POLICY_MAX_SIZE + 1);
  if (!buf) {
    fclose(f);
    ENCLOS_FAIL(ENCLOS_E_NOMEM);
  }
  size_t n = fread(buf, 1, ENCLOS_POLICY_MAX_SIZE + 1, f);
  fclose(f);
  enclos_err rc = enclos_policy_parse(buf, n, out);
  enclos_free(buf);
  return rc;
}

void enclos_policy_free(enclos_policy *p) { enclos_free(p); }

static void hex(char *out, const uint8_t *p, size_t n) { enclos_hex_encode_to(out, p, n); }

enclos_err enclos_policy_check(const enclos_policy *p, const enclos_verify_result *r, int64_t now) {
  ENCLOS_ENSURE_REF(p);
  ENCLOS_ENSURE_REF(r);
  char h[2 * ENCLOS_MEASUREMENT_MAX + 1];
  if (r->tee == ENCLOS_TEE_SIM)
    ENCLOS_ENSUREF(p->allow_sim, ENCLOS_E_POLICY,
                   "policy: evidence comes from the SIMULATED TEE and the policy does not set allow_sim");
  if (p->has_tees) {
    bool ok = false;
    for (size_t i = 0; i < p->n_tees; i++) ok |= p->tees[i] == r->tee;
    ENCLOS_ENSUREF(ok, ENCLOS_E_POLICY, "policy: TEE %s is not in the allowed list", enclos_tee_kind_name(r->tee));
  }
  if (p->has_meas) {
    bool ok = false;
    for (size_t i = 0; i < p->n_meas; i++)
      ok |= p->meas_size[i] == r->measurement_size && memcmp(p->meas[i], r->measurement, r->measurement_size) == 0;
    hex(h, r->measurement, r->measurement_size);
    ENCLOS_ENSUREF(ok, ENCLOS_E_POLICY, "policy: measurement %s is not an expected one", h);
  }
  if (p->has_config_root) {
    ENCLOS_ENSUREF(r->has_claims && r->claims.has_config_root, ENCLOS_E_POLICY,
                   "policy: expected a configuration root but the claims carry none");
    hex(h, r->claims.config_root, 32);
    ENCLOS_ENSUREF(memcmp(p->config_root, r->claims.config_root, 32) == 0, ENCLOS_E_POLICY,
                   "policy: configuration root %s differs from the expected one", h);
  }
  if (p->has_app_name || p->has_app_code) {
    ENCLOS_ENSUREF(r->has_claims && r->claims.has_app, ENCLOS_E_POLICY,
                   "policy: expected an app identity but the claims carry none");
    ENCLOS_ENSUREF(!p->has_app_name || strcmp(p->app_name, r->claims.app_name) == 0, ENCLOS_E_POLICY,
                   "policy: app name '%s' is not the expected '%s'", r->claims.app_name, p->app_name);
    hex(h, r->claims.app_code_hash, 32);
    ENCLOS_ENSUREF(!p->has_app_code || memcmp(p->app_code, r->claims.app_code_hash, 32) == 0, ENCLOS_E_POLICY,
                   "policy: app code hash %s is not the expected one", h);
  }
  /* Intel TCB status (SGX, TDX): the listed ones, by default UpToDate only. sim has none; SNP has
   * none either (AMD publishes no status: the hardware policy's snp_min_tcb takes its place). */
  if (r->tee == ENCLOS_TEE_SGX || r->tee == ENCLOS_TEE_TDX) {
    bool ok = false;
    if (p->has_tcb)
      for (size_t i = 0; i < p->n_tcb; i++) ok |= strcmp(p->tcb[i], r->tcb_status) == 0;
    else
      ok = strcmp(r->tcb_status, "UpToDate") == 0;
    ENCLOS_ENSUREF(ok, ENCLOS_E_POLICY, "policy: TCB status '%s' is not accepted", r->tcb_status);
  }
  if (p->has_max_age) {
    int64_t age = now - r->not_before;
    ENCLOS_ENSUREF(age <= p->max_age, ENCLOS_E_POLICY,
                   "policy: evidence is %lld s old, more than max_age_s %lld", (long long)age,
                   (long long)p->max_age);
  }
  return ENCLOS_OK;
}
