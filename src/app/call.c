/* call.c: the function-call ABI (docs/apps.md, "Function calls").
 *
 * JSON arguments -> wasm parameters, following the Component Model's canonical ABI for the few
 * types we use: a JSON number fills one i32/i64/f32/f64 parameter (integers must be exact and
 * in range); a string or {"base64": "..."} fills an (i32 ptr, i32 len) pair, its bytes copied
 * into guest memory through the export `cabi_realloc(0, 0, 1, len)`. The whole argument list is
 * checked against the export's signature before the app runs.
 *
 * Results -> a JSON array: numbers (i32 and i64 as signed decimal; f32/f64 as the shortest
 * decimal that round-trips; NaN and infinities are refused because JSON cannot carry them), or,
 * for an export marked with `enclos.returns.string.<name>` / `enclos.returns.bytes.<name>`, the
 * bytes at the (ptr: u32 le, len: u32 le) pair its i32 result points to, as a JSON string
 * (which must be UTF-8) or {"base64": ...}. Every guest pointer is bounds-checked.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <enclos/encoding.h>
#include <enclos/mem.h>

#include "app_int.h"

/* ---- argument checking ------------------------------------------------------------------------ */

static const char *type_name(enclos_wasm_type t) {
  switch (t) {
  case ENCLOS_WASM_I32: return "i32";
  case ENCLOS_WASM_I64: return "i64";
  case ENCLOS_WASM_F32: return "f32";
  case ENCLOS_WASM_F64: return "f64";
  case ENCLOS_WASM_V128: return "v128";
  case ENCLOS_WASM_FUNCREF: return "funcref";
  case ENCLOS_WASM_EXTERNREF: return "externref";
  default: return "?";
  }
}

/* The bytes argument {"base64": "..."}: exactly one member, a string. */
static const char *bytes_arg(json_t *v, size_t *len) {
  if (!json_is_object(v) || json_object_size(v) != 1) return NULL;
  json_t *s = json_object_get(v, "base64");
  if (!json_is_string(s)) return NULL;
  *len = json_string_length(s);
  return json_string_value(s);
}

/* Converts JSON number \p v for a parameter of type \p t. */
static enclos_err number_arg(json_t *v, enclos_wasm_type t, size_t argi, enclos_wasm_val *out) {
  memset(out, 0, sizeof(*out));
  out->type = t;
  bool isint = json_is_integer(v);
  json_int_t iv = isint ? json_integer_value(v) : 0;
  double dv = isint ? (double)iv : json_real_value(v);
  switch (t) {
  case ENCLOS_WASM_I32:
  case ENCLOS_WASM_I64: {
    if (!isint) {
      /* A real is accepted for an integer parameter only when it is an exact integer that a
       * double represents exactly (|x| <= 2^53), e.g. 1e3. */
      ENCLOS_ENSUREF(isfinite(dv) && dv == floor(dv) && fabs(dv) <= 9007199254740992.0,
                     ENCLOS_E_INVAL, "argument %zu: %.17g is not an exact integer for an %s parameter",
                     argi, dv, type_name(t));
      iv = (json_int_t)dv;
    }
    if (t == ENCLOS_WASM_I32) {
      /* Both signed and unsigned readings are accepted: -1 and 4294967295 are the same i32. */
      ENCLOS_ENSUREF(iv >= INT32_MIN && iv <= (json_int_t)UINT32_MAX, ENCLOS_E_INVAL,
                     "argument %zu: %lld does not fit an i32 parameter", argi, (long long)iv);
      out->of.i32 = (uint32_t)(int64_t)iv;
    } else {
      out->of.i64 = (uint64_t)(int64_t)iv;
    }
    return ENCLOS_OK;
  }
  case ENCLOS_WASM_F32: {
    float f = (float)dv;
    ENCLOS_ENSUREF(isfinite(f), ENCLOS_E_INVAL, "argument %zu: %.17g is out of range for f32", argi, dv);
    uint32_t bits;
    memcpy(&bits, &f, 4);
    out->of.f32 = bits;
    return ENCLOS_OK;
  }
  case ENCLOS_WASM_F64: {
    uint64_t bits;
    memcpy(&bits, &dv, 8);
    out->of.f64 = bits;
    return ENCLOS_OK;
  }
  default:
    ENCLOS_FAILF(ENCLOS_E_INVAL, "argument %zu: a number cannot fill a %s parameter", argi,
                 type_name(t));
  }
}

enclos_err app__call_parse(const char *export_name, const enclos_wasm_functype *type,
                           const char *args_json, size_t args_len, void **out) {
  *out = NULL;
  ENCLOS_ENSUREF(args_len <= APP_MAX_CALL_ARGS_JSON, ENCLOS_E_LIMIT,
                 "call arguments of %zu bytes exceed %u", args_len, APP_MAX_CALL_ARGS_JSON);
  ENCLOS_ENSUREF(type->nparams <= APP_MAX_CALL_PARAMS && type->nresults <= APP_MAX_CALL_RESULTS,
                 ENCLOS_E_INVAL, "export \"%s\" has %u parameters and %u results (limits %u, %u)",
                 export_name, type->nparams, type->nresults, APP_MAX_CALL_PARAMS, APP_MAX_CALL_RESULTS);
  for (uint32_t i = 0; i < type->nparams; i++)
    ENCLOS_ENSUREF(type->params[i] == ENCLOS_WASM_I32 || type->params[i] == ENCLOS_WASM_I64 ||
                       type->params[i] == ENCLOS_WASM_F32 || type->params[i] == ENCLOS_WASM_F64,
                   ENCLOS_E_INVAL, "export \"%s\": parameter %u is %s, which JSON cannot carry",
                   export_name, i, type_name(type->params[i]));
  for (uint32_t i = 0; i < type->nresults; i++)
    ENCLOS_ENSUREF(type->results[i] == ENCLOS_WASM_I32 || type->results[i] == ENCLOS_WASM_I64 ||
                       type->results[i] == ENCLOS_WASM_F32 || type->results[i] == ENCLOS_WASM_F64,
                   ENCLOS_E_INVAL, "export \"%s\": result %u is %s, which JSON cannot carry",
                   export_name, i, type_name(type->results[i]));
  json_error_t jerr;
  /* JSON_ALLOW_NUL: a string argument may hold U+0000 (its length is passed explicitly). */
  json_t *arr = json_loadb(args_json ? args_json : "", args_len, JSON_ALLOW_NUL, &jerr);
  ENCLOS_ENSUREF(arr, ENCLOS_E_MALFORMED, "call arguments: %s at line %d column %d", jerr.text,
                 jerr.line, jerr.column);
  enclos_err rc = ENCLOS_OK;
  enclos_buf tmp = ENCLOS_BUF_INIT;
  ENCLOS_GUARD_ENSUREF(json_is_array(arr), ENCLOS_E_INVAL, "call arguments must be a JSON array");
  size_t n = json_array_size(arr);
  ENCLOS_GUARD_ENSUREF(n <= APP_MAX_CALL_ARGS, ENCLOS_E_LIMIT, "%zu call arguments (limit %u)", n,
                       APP_MAX_CALL_ARGS);
  uint32_t p = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(arr, i);
    size_t blen;
    const char *b64 = bytes_arg(v, &blen);
    if (json_is_string(v) || b64) {
      ENCLOS_GUARD_ENSUREF(p + 2 <= type->nparams && type->params[p] == ENCLOS_WASM_I32 &&
                               type->params[p + 1] == ENCLOS_WASM_I32,
                           ENCLOS_E_INVAL,
                           "argument %zu (%s) needs two i32 parameters (ptr, len) at parameter %u of "
                           "\"%s\", which takes %u",
                           i, b64 ? "bytes" : "string", p, export_name, type->nparams);
      if (b64) {
        enclos_buf_reset(&tmp);
        rc = enclos_b64_decode(&tmp, b64, blen, ENCLOS_B64_STD);
        ENCLOS_GUARD_ENSUREF(rc == ENCLOS_OK, ENCLOS_E_INVAL, "argument %zu: base64 is invalid", i);
      }
      p += 2;
    } else if (json_is_number(v)) {
      ENCLOS_GUARD_ENSUREF(p < type->nparams, ENCLOS_E_INVAL,
                           "argument %zu: \"%s\" takes only %u parameters", i, export_name,
                           type->nparams);
      enclos_wasm_val tv;
      ENCLOS_GUARD(number_arg(v, type->params[p], i, &tv));
      p++;
    } else {
      ENCLOS_GUARD_FAILF(ENCLOS_E_INVAL,
                         "argument %zu: only numbers, strings and {\"base64\": \"...\"} are accepted",
                         i);
    }
  }
  ENCLOS_GUARD_ENSUREF(p == type->nparams, ENCLOS_E_INVAL,
                       "\"%s\" takes %u parameters, the %zu arguments fill %u", export_name,
                       type->nparams, n, p);
  *out = arr;
  arr = NULL;
cleanup:
  enclos_buf_free(&tmp);
  json_decref(arr);
  return rc;
}

/* ---- results ------------------------------------------------------------------------------------ */

/* Strict UTF-8 (RFC 3629 §4): no overlong forms, no surrogates, nothing above U+10FFFF. Returns
 * the offset of the first bad byte, or len. */
static size_t utf8_check(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (len - i <= n) return i;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return i;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += n + 1;
  }
  return len;
}

static enclos_err json_string_out(enclos_buf *b, const uint8_t *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  ENCLOS_TRY(enclos_buf_reserve(b, len + 2));
  ENCLOS_TRY(enclos_buf_append_u8(b, '"'));
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    ENCLOS_TRY(enclos_buf_append(b, s + run, i - run));
    run = i + 1;
    char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (c == '"' || c == '\\') {
      e[1] = (char)c;
      ENCLOS_TRY(enclos_buf_append(b, e, 2));
    } else {
      ENCLOS_TRY(enclos_buf_append(b, e, 6));
    }
  }
  ENCLOS_TRY(enclos_buf_append(b, s + run, len - run));
  return enclos_buf_append_u8(b, '"');
}

static uint32_t ld32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static enclos_err result_out(app_runner *r, const char *export_name, uint8_t kind, size_t i,
                             const enclos_wasm_val *v, enclos_buf *b) {
  const enclos_app *a = r->app;
  if (kind == APP_RESULT_NUMBER) {
    switch (v->type) {
    case ENCLOS_WASM_I32: return enclos_buf_printf(b, "%d", (int32_t)v->of.i32);
    case ENCLOS_WASM_I64: return enclos_buf_printf(b, "%lld", (long long)(int64_t)v->of.i64);
    case ENCLOS_WASM_F32: {
      float f;
      memcpy(&f, &v->of.f32, 4);
      ENCLOS_ENSUREF(isfinite(f), ENCLOS_E_RANGE, "\"%s\" result %zu is %s, which JSON cannot carry",
                     export_name, i, isnan(f) ? "NaN" : "infinite");
      return enclos_buf_printf(b, "%.9g", (double)f);
    }
    case ENCLOS_WASM_F64: {
      double d;
      memcpy(&d, &v->of.f64, 8);
      ENCLOS_ENSUREF(isfinite(d), ENCLOS_E_RANGE, "\"%s\" result %zu is %s, which JSON cannot carry",
                     export_name, i, isnan(d) ? "NaN" : "infinite");
      return enclos_buf_printf(b, "%.17g", d);
    }
    default: ENCLOS_FAILF(ENCLOS_E_INTERNAL, "result type");
    }
  }
  ENCLOS_ENSUREF(r->has_memory, ENCLOS_E_RANGE, "\"%s\" returns a pointer but the app has no memory",
                 export_name);
  uint8_t *mem;
  size_t msz;
  ENCLOS_TRY(enclos_wasm_memory_data(r->memory, &mem, &msz));
  uint32_t pair = v->of.i32;
  ENCLOS_ENSUREF((uint64_t)pair + 8 <= msz, ENCLOS_E_RANGE,
                 "\"%s\" result points to 0x%x, outside memory of %zu bytes", export_name, pair, msz);
  uint32_t ptr = ld32(mem + pair), len = ld32(mem + pair + 4);
  ENCLOS_ENSUREF((uint64_t)ptr + len <= msz, ENCLOS_E_RANGE,
                 "\"%s\" result bytes [0x%x, +%u) lie outside memory of %zu bytes", export_name, ptr,
                 len, msz);
  ENCLOS_ENSUREF(len <= a->limits.max_output, ENCLOS_E_LIMIT,
                 "\"%s\" result of %u bytes exceeds max_output (%zu)", export_name, len,
                 a->limits.max_output);
  if (kind == APP_RESULT_STRING) {
    size_t bad = utf8_check(mem + ptr, len);
    ENCLOS_ENSUREF(bad == len, ENCLOS_E_INVALID,
                   "\"%s\" result string is not UTF-8 (byte %zu of %u)", export_name, bad, len);
    return json_string_out(b, mem + ptr, len);
  }
  ENCLOS_TRY(enclos_buf_append_str(b, "{\"base64\":\""));
  ENCLOS_TRY(enclos_b64_encode(b, mem + ptr, len, ENCLOS_B64_STD));
  return enclos_buf_append_str(b, "\"}");
}

/* ---- the call ----------------------------------------------------------------------------------- */

/* Copies \p len bytes into guest memory through cabi_realloc; the (ptr, len) pair in \p out. */
static enclos_err copy_in(app_runner *r, enclos_wasm_extern realloc_fn, const void *data, size_t len,
                          size_t argi, enclos_wasm_val out[2], enclos_app_call_info *info,
                          uint64_t *fuel) {
  ENCLOS_ENSUREF(len <= UINT32_MAX, ENCLOS_E_LIMIT, "argument %zu: %zu bytes", argi, len);
  enclos_wasm_val args[4] = {{.type = ENCLOS_WASM_I32, .of.i32 = 0},
                             {.type = ENCLOS_WASM_I32, .of.i32 = 0},
                             {.type = ENCLOS_WASM_I32, .of.i32 = 1},
                             {.type = ENCLOS_WASM_I32, .of.i32 = (uint32_t)len}};
  enclos_wasm_val res;
  enclos_err rc = app__run(r, realloc_fn, args, 4, &res, 1, info, fuel);
  if (rc != ENCLOS_OK) return rc;
  uint8_t *mem;
  size_t msz;
  ENCLOS_TRY(enclos_wasm_memory_data(r->memory, &mem, &msz)); /* re-read: realloc may grow it */
  uint32_t ptr = res.of.i32;
  ENCLOS_ENSUREF((uint64_t)ptr + len <= msz, ENCLOS_E_RANGE,
                 "cabi_realloc returned 0x%x for argument %zu (%zu bytes), outside memory of %zu bytes",
                 ptr, argi, len, msz);
  if (len) memcpy(mem + ptr, data, len);
  out[0].type = out[1].type = ENCLOS_WASM_I32;
  out[0].of.i32 = ptr;
  out[1].of.i32 = (uint32_t)len;
  return ENCLOS_OK;
}

static bool reserved_export(const char *name) {
  return strcmp(name, "cabi_realloc") == 0 || strcmp(name, "_initialize") == 0 ||
         strncmp(name, "enclos.returns.", 15) == 0;
}

enclos_err enclos_app_call(enclos_app *a, const char *export_name, const char *args_json,
                           size_t args_len, enclos_buf *result_json, enclos_app_call_info *info) {
  ENCLOS_ENSURE_REF(a);
  ENCLOS_ENSURE_REF(export_name);
  ENCLOS_ENSURE_REF(result_json);
  ENCLOS_ENSURE(args_json || args_len == 0, ENCLOS_E_INVAL);
  enclos_app_call_info scratch;
  if (!info) info = &scratch;
  memset(info, 0, sizeof(*info));
  uint64_t t0 = app__now_ns();
  size_t start_len = result_json->len;
  enclos_err rc = ENCLOS_OK;
  json_t *arr = NULL;
  app_runner *r = NULL;
  enclos_buf tmp = ENCLOS_BUF_INIT;
  enclos_wasm_val *vals = NULL, results[APP_MAX_CALL_RESULTS];
  size_t nlen = strlen(export_name);
  /* The export and its type, from the module (before anything runs). */
  const enclos_wasm_module *m = a->module;
  enclos_wasm_externtype type;
  bool found = false;
  for (size_t i = 0, n = enclos_wasm_module_export_count(m); i < n && !found; i++) {
    enclos_wasm_name en;
    ENCLOS_GUARD(enclos_wasm_module_export(m, i, &en, &type));
    found = type.kind == ENCLOS_WASM_EXTERN_FUNC && en.len == nlen &&
            memcmp(en.data, export_name, nlen) == 0;
  }
  ENCLOS_GUARD_ENSUREF(found && !reserved_export(export_name), ENCLOS_E_NOT_FOUND,
                       "app \"%s\" has no callable function export \"%.200s\"", a->name, export_name);
  const enclos_wasm_functype *ft = &type.of.func;
  ENCLOS_GUARD(app__call_parse(export_name, ft, args_json, args_len, (void **)&arr));
  uint8_t kind = app__result_kind(a, export_name, nlen);
  vals = enclos_calloc(ft->nparams + 1, sizeof(*vals));
  ENCLOS_GUARD_ENSUREF(vals, ENCLOS_E_NOMEM, "call values");

  ENCLOS_GUARD(app__runner_get(a, &r));
  uint64_t fuel = a->limits.fuel;
  enclos_wasm_extern realloc_fn = {0};
  bool have_realloc = false;
  size_t n = json_array_size(arr);
  uint32_t p = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(arr, i);
    size_t blen;
    const char *b64 = bytes_arg(v, &blen);
    if (json_is_string(v) || b64) {
      if (!have_realloc) {
        static const char rname[] = "cabi_realloc";
        ENCLOS_GUARD_ENSUREF(r->has_memory, ENCLOS_E_INVAL,
                             "argument %zu: app \"%s\" exports no memory to copy it into", i, a->name);
        rc = enclos_wasm_instance_export(r->inst, (enclos_wasm_name){rname, 12}, &realloc_fn);
        ENCLOS_GUARD_ENSUREF(rc == ENCLOS_OK && realloc_fn.kind == ENCLOS_WASM_EXTERN_FUNC,
                             ENCLOS_E_INVAL,
                             "argument %zu: app \"%s\" does not export cabi_realloc", i, a->name);
        enclos_wasm_externtype rt;
        ENCLOS_GUARD(enclos_wasm_extern_type(realloc_fn, &rt));
        const enclos_wasm_functype *f = &rt.of.func;
        ENCLOS_GUARD_ENSUREF(f->nparams == 4 && f->nresults == 1 && f->params[0] == ENCLOS_WASM_I32 &&
                                 f->params[1] == ENCLOS_WASM_I32 && f->params[2] == ENCLOS_WASM_I32 &&
                                 f->params[3] == ENCLOS_WASM_I32 && f->results[0] == ENCLOS_WASM_I32,
                             ENCLOS_E_INVAL, "app \"%s\": cabi_realloc must be (i32 i32 i32 i32) -> i32",
                             a->name);
        have_realloc = true;
      }
      const void *data;
      size_t len;
      if (b64) {
        enclos_buf_reset(&tmp);
        ENCLOS_GUARD(enclos_b64_decode(&tmp, b64, blen, ENCLOS_B64_STD));
        data = tmp.data;
        len = tmp.len;
      } else {
        data = json_string_value(v);
        len = json_string_length(v);
      }
      ENCLOS_GUARD(copy_in(r, realloc_fn, data, len, i, vals + p, info, &fuel));
      p += 2;
    } else {
      ENCLOS_GUARD(number_arg(v, ft->params[p], i, &vals[p]));
      p++;
    }
  }
  enclos_wasm_extern fn;
  ENCLOS_GUARD(enclos_wasm_instance_export(r->inst, (enclos_wasm_name){export_name, nlen}, &fn));
  rc = app__run(r, fn, vals, ft->nparams, results, ft->nresults, info, &fuel);
  app__flush_stderr(r);
  if (rc != ENCLOS_OK) {
    if (!info->trapped && enclos_wasi_exited(r->wasi, NULL))
      rc = enclos_err_set(ENCLOS_E_TRAP, __FILE__, __LINE__,
                          "app \"%s\": \"%s\" called proc_exit(%u) instead of returning", a->name,
                          export_name, info->exit_code);
    goto cleanup;
  }
  ENCLOS_GUARD(enclos_buf_append_u8(result_json, '['));
  for (uint32_t i = 0; i < ft->nresults; i++) {
    if (i) ENCLOS_GUARD(enclos_buf_append_u8(result_json, ','));
    ENCLOS_GUARD(result_out(r, export_name, kind, i, &results[i], result_json));
  }
  ENCLOS_GUARD(enclos_buf_append_u8(result_json, ']'));
cleanup:
  if (rc != ENCLOS_OK && result_json->len > start_len) result_json->len = start_len;
  app__runner_put(r);
  enclos_buf_free(&tmp);
  enclos_free(vals);
  json_decref(arr);
  info->duration_ns = app__now_ns() - t0;
  return rc;
}
