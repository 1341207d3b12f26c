/* spec_runner: runs WebAssembly spec test scripts (the JSON command lists wast2json writes) on the
 * enclos engine through its public embedding API only (include/enclos/wasm.h).
 *
 *   spec_runner [-v] [--no-guard] [--timeout SECONDS] FILE.json...
 *
 * Every command kind of the script format (spec repository, interpreter/README.md "Scripts") is
 * executed: module, register, action, assert_return, assert_trap, assert_exhaustion,
 * assert_invalid, assert_malformed, assert_unlinkable, assert_uninstantiable. Text-module
 * assertions (module_type "text") are counted as not applicable: the engine has no text parser.
 *
 * Each file runs in a forked child, so a crash or hang of the engine fails that file's remaining
 * commands instead of ending the run; the child streams its counters to the parent after each
 * command. Exit status: 0 when nothing failed, 1 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <enclos/error.h>
#include <enclos/mem.h>
#include <enclos/wasm.h>

/* ---- command kinds and counters ------------------------------------------------------ */

#define KINDS(X)                                                                                   \
  X(MODULE, "module")                                                                              \
  X(REGISTER, "register")                                                                          \
  X(ACTION, "action")                                                                              \
  X(ASSERT_RETURN, "assert_return")                                                                \
  X(ASSERT_TRAP, "assert_trap")                                                                    \
  X(ASSERT_EXHAUSTION, "assert_exhaustion")                                                        \
  X(ASSERT_INVALID, "assert_invalid")                                                              \
  X(ASSERT_MALFORMED, "assert_malformed")                                                          \
  X(ASSERT_UNLINKABLE, "assert_unlinkable")                                                        \
  X(ASSERT_UNINSTANTIABLE, "assert_uninstantiable")                                                \
  X(UNKNOWN, "unknown")

enum kind {
#define K_ENUM(n, s) K_##n,
  KINDS(K_ENUM)
#undef K_ENUM
      K_COUNT
};
static const char *const kind_names[] = {
#define K_NAME(n, s) s,
    KINDS(K_NAME)
#undef K_NAME
};

enum outcome { PASS = 0, FAIL = 1, NA = 2 };

struct counts {
  uint32_t n[K_COUNT][3]; /* [kind][outcome] */
  uint32_t done;          /* commands finished */
};

static uint32_t counts_sum(const struct counts *c, enum outcome o) {
  uint32_t s = 0;
  for (int k = 0; k < K_COUNT; k++) s += c->n[k][o];
  return s;
}

static enum kind kind_of(const char *s) {
  for (int k = 0; k < K_UNKNOWN; k++)
    if (strcmp(s, kind_names[k]) == 0) return (enum kind)k;
  return K_UNKNOWN;
}

/* ---- options ------------------------------------------------------------------------- */

static bool opt_verbose;
static bool opt_no_guard;
static unsigned opt_timeout = 600;

/* ---- per-file state ------------------------------------------------------------------ */

#define MAX_NAMED 256  /* named ($name) and registered modules per script */
#define MAX_PARAMS 64  /* values in one invoke or result list */
#define DETAIL_MAX 1024

struct named {
  char *name;
  enclos_wasm_instance *inst;
};

struct spectest {
  bool made;
  enclos_wasm_extern g_i32, g_i64, g_f32, g_f64, table, memory;
};

struct script {
  const char *dir;  /* directory of the JSON file: module files are relative to it */
  const char *file; /* display name */
  enclos_wasm_store *store;
  enclos_wasm_instance *current;
  struct named named[MAX_NAMED]; /* "$name" -> instance (from module commands) */
  size_t nnamed;
  struct named registered[MAX_NAMED]; /* "as" name -> instance (from register commands) */
  size_t nregistered;
  struct spectest spectest;
  struct counts counts;
  int progress_fd;
  char detail[DETAIL_MAX]; /* why the current command failed */
};

static void set_detail(struct script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_detail(struct script *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->detail, sizeof s->detail, fmt, ap);
  va_end(ap);
}

static char *dup_str(const char *src) {
  char *d = enclos_strdup(src);
  if (!d) {
    fprintf(stderr, "spec_runner: out of memory\n");
    exit(2);
  }
  return d;
}

static enclos_wasm_instance *lookup(const struct named *tab, size_t n, const char *name) {
  for (size_t i = n; i-- > 0;) /* latest binding wins */
    if (strcmp(tab[i].name, name) == 0) return tab[i].inst;
  return NULL;
}

static bool bind(struct named *tab, size_t *n, const char *name, enclos_wasm_instance *inst) {
  if (*n >= MAX_NAMED) return false;
  tab[*n].name = dup_str(name);
  tab[*n].inst = inst;
  (*n)++;
  return true;
}

/* ---- the spectest host module (spec repository interpreter/host/spectest.ml) ---------- */

static enclos_err spectest_print(enclos_wasm_caller *caller, void *env, const enclos_wasm_val *args,
                                 enclos_wasm_val *results) {
  (void)caller;
  (void)env;
  (void)args;
  (void)results;
  return ENCLOS_OK; /* printing would only clutter the output */
}

static const struct {
  const char *name;
  const char *sig;
} spectest_funcs[] = {
    {"print", ":"},           {"print_i32", "i:"},     {"print_i64", "I:"},
    {"print_f32", "f:"},      {"print_f64", "F:"},     {"print_i32_f32", "if:"},
    {"print_f64_f64", "FF:"},
};

static bool make_spectest(struct script *s) {
  struct spectest *t = &s->spectest;
  if (t->made) return true;
  enclos_wasm_val v;
  memset(&v, 0, sizeof v);
  enclos_err rc;
  v.type = ENCLOS_WASM_I32;
  v.of.i32 = 666;
  if ((rc = enclos_wasm_global_new(s->store, v, false, &t->g_i32)) != ENCLOS_OK) goto fail;
  memset(&v, 0, sizeof v);
  v.type = ENCLOS_WASM_I64;
  v.of.i64 = 666;
  if ((rc = enclos_wasm_global_new(s->store, v, false, &t->g_i64)) != ENCLOS_OK) goto fail;
  memset(&v, 0, sizeof v);
  v.type = ENCLOS_WASM_F32;
  v.of.f32 = 0x4426a666u; /* 666.6f */
  if ((rc = enclos_wasm_global_new(s->store, v, false, &t->g_f32)) != ENCLOS_OK) goto fail;
  memset(&v, 0, sizeof v);
  v.type = ENCLOS_WASM_F64;
  v.of.f64 = 0x4084d4cccccccccdull; /* 666.6 */
  if ((rc = enclos_wasm_global_new(s->store, v, false, &t->g_f64)) != ENCLOS_OK) goto fail;
  enclos_wasm_limits_desc tl = {.min = 10, .max = 20, .has_max = true};
  if ((rc = enclos_wasm_table_new(s->store, ENCLOS_WASM_FUNCREF, tl, &t->table)) != ENCLOS_OK)
    goto fail;
  enclos_wasm_limits_desc ml = {.min = 1, .max = 2, .has_max = true};
  if ((rc = enclos_wasm_memory_new(s->store, ml, &t->memory)) != ENCLOS_OK) goto fail;
  t->made = true;
  return true;
fail:
  set_detail(s, "creating the spectest module: %s: %s", enclos_strerror(rc), enclos_err_detail());
  return false;
}

/* Adds what the module imports from "spectest" and from registered modules. Imports that
 * cannot be found are left out: instantiation then reports ENCLOS_E_UNLINKABLE. */
static bool build_imports(struct script *s, const enclos_wasm_module *m, enclos_wasm_imports **out) {
  enclos_wasm_imports *imp = NULL;
  enclos_err rc = enclos_wasm_imports_new(&imp);
  if (rc != ENCLOS_OK) {
    set_detail(s, "imports_new: %s", enclos_strerror(rc));
    return false;
  }
  size_t n = enclos_wasm_module_import_count(m);
  for (size_t i = 0; i < n; i++) {
    enclos_wasm_name mod, name;
    enclos_wasm_externtype type;
    rc = enclos_wasm_module_import(m, i, &mod, &name, &type);
    if (rc != ENCLOS_OK) {
      set_detail(s, "module_import(%zu): %s: %s", i, enclos_strerror(rc), enclos_err_detail());
      goto fail;
    }
    char modz[256], namez[256];
    if (mod.len >= sizeof modz || memchr(mod.data, 0, mod.len)) continue; /* cannot match */
    memcpy(modz, mod.data, mod.len);
    modz[mod.len] = 0;
    bool name_ok = name.len < sizeof namez && !memchr(name.data, 0, name.len);
    if (name_ok) {
      memcpy(namez, name.data, name.len);
      namez[name.len] = 0;
    }
    if (strcmp(modz, "spectest") == 0 && name_ok) {
      if (!make_spectest(s)) goto fail;
      const struct spectest *t = &s->spectest;
      const enclos_wasm_extern *ext = NULL;
      if (strcmp(namez, "global_i32") == 0) ext = &t->g_i32;
      else if (strcmp(namez, "global_i64") == 0) ext = &t->g_i64;
      else if (strcmp(namez, "global_f32") == 0) ext = &t->g_f32;
      else if (strcmp(namez, "global_f64") == 0) ext = &t->g_f64;
      else if (strcmp(namez, "table") == 0) ext = &t->table;
      else if (strcmp(namez, "memory") == 0) ext = &t->memory;
      if (ext) {
        rc = enclos_wasm_imports_add_extern(imp, "spectest", name, *ext);
      } else {
        for (size_t f = 0; f < sizeof spectest_funcs / sizeof spectest_funcs[0]; f++)
          if (strcmp(namez, spectest_funcs[f].name) == 0) {
            rc = enclos_wasm_imports_add_func(imp, "spectest", namez, spectest_funcs[f].sig,
                                              spectest_print, NULL);
            break;
          }
      }
      /* EXISTS: the module imports the same field twice; the first registration serves both. */
      if (rc != ENCLOS_OK && rc != ENCLOS_E_EXISTS) {
        set_detail(s, "adding spectest.%s: %s: %s", namez, enclos_strerror(rc), enclos_err_detail());
        goto fail;
      }
      continue;
    }
    enclos_wasm_instance *inst = lookup(s->registered, s->nregistered, modz);
    if (!inst) continue;
    enclos_wasm_extern ext;
    if (enclos_wasm_instance_export(inst, name, &ext) != ENCLOS_OK) continue;
    rc = enclos_wasm_imports_add_extern(imp, modz, name, ext);
    if (rc != ENCLOS_OK && rc != ENCLOS_E_EXISTS) {
      set_detail(s, "adding %s.%.*s: %s: %s", modz, (int)name.len, name.data, enclos_strerror(rc),
                 enclos_err_detail());
      goto fail;
    }
  }
  *out = imp;
  return true;
fail:
  enclos_wasm_imports_free(imp);
  return false;
}

/* ---- files and modules --------------------------------------------------------------- */

#define MODULE_FILE_MAX (64u << 20)

static bool read_file(struct script *s, const char *fname, uint8_t **data, size_t *size) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", s->dir, fname) >= sizeof path) {
    set_detail(s, "path too long: %s", fname);
    return false;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    set_detail(s, "cannot open %s: %s", path, strerror(errno));
    return false;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      if (cap > MODULE_FILE_MAX) break;
      uint8_t *nb = enclos_realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  bool ok = !ferror(f) && feof(f);
  fclose(f);
  if (!ok) {
    enclos_free(buf);
    set_detail(s, "cannot read %s", path);
    return false;
  }
  *data = buf;
  *size = len;
  return true;
}

/* Loads a module file. Returns the load result; *m is set on success. */
static enclos_err load_module(struct script *s, const char *fname, enclos_wasm_module **m,
                              bool *io_ok) {
  uint8_t *data = NULL;
  size_t size = 0;
  *m = NULL;
  *io_ok = read_file(s, fname, &data, &size);
  if (!*io_ok) return ENCLOS_E_IO;
  enclos_err rc = enclos_wasm_module_load(data, size, m);
  enclos_free(data);
  return rc;
}

/* Loads a module that must be valid; false, with s->detail saying why, if it is not. */
static bool load_valid(struct script *s, const char *fname, enclos_wasm_module **m) {
  bool io_ok;
  enclos_err rc = load_module(s, fname, m, &io_ok);
  if (!io_ok) return false;
  if (rc != ENCLOS_OK) {
    set_detail(s, "load %s: %s: %s", fname, enclos_strerror(rc), enclos_err_detail());
    return false;
  }
  return true;
}

/* Instantiates; on failure s->detail holds why. */
static enclos_err instantiate(struct script *s, const enclos_wasm_module *m,
                              enclos_wasm_instance **out) {
  enclos_wasm_imports *imp = NULL;
  if (!build_imports(s, m, &imp)) return ENCLOS_E_INTERNAL;
  enclos_err rc = enclos_wasm_instantiate(s->store, m, imp, out);
  enclos_wasm_imports_free(imp);
  return rc;
}

/* ---- values -------------------------------------------------------------------------- */

static enclos_wasm_type type_of(const char *t) {
  if (strcmp(t, "i32") == 0) return ENCLOS_WASM_I32;
  if (strcmp(t, "i64") == 0) return ENCLOS_WASM_I64;
  if (strcmp(t, "f32") == 0) return ENCLOS_WASM_F32;
  if (strcmp(t, "f64") == 0) return ENCLOS_WASM_F64;
  if (strcmp(t, "v128") == 0) return ENCLOS_WASM_V128;
  if (strcmp(t, "funcref") == 0) return ENCLOS_WASM_FUNCREF;
  if (strcmp(t, "externref") == 0) return ENCLOS_WASM_EXTERNREF;
  return (enclos_wasm_type)0;
}

static bool parse_u64(const char *str, uint64_t *out) {
  if (!str || !*str || *str == '-') return false;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(str, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

/* Lane width in bytes of a v128 lane type, 0 if unknown. */
static unsigned lane_bytes(const char *lt) {
  if (!lt) return 0;
  if (strcmp(lt, "i8") == 0) return 1;
  if (strcmp(lt, "i16") == 0) return 2;
  if (strcmp(lt, "i32") == 0 || strcmp(lt, "f32") == 0) return 4;
  if (strcmp(lt, "i64") == 0 || strcmp(lt, "f64") == 0) return 8;
  return 0;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* An argument value (no NaN patterns). */
static bool parse_arg(struct script *s, json_t *j, enclos_wasm_val *v) {
  memset(v, 0, sizeof *v);
  const char *t = json_string_value(json_object_get(j, "type"));
  json_t *val = json_object_get(j, "value");
  v->type = type_of(t ? t : "");
  uint64_t u = 0;
  switch (v->type) {
    case ENCLOS_WASM_I32:
    case ENCLOS_WASM_F32:
      if (!parse_u64(json_string_value(val), &u) || u > UINT32_MAX) break;
      v->of.i32 = (uint32_t)u;
      return true;
    case ENCLOS_WASM_I64:
    case ENCLOS_WASM_F64:
      if (!parse_u64(json_string_value(val), &u)) break;
      v->of.i64 = u;
      return true;
    case ENCLOS_WASM_V128: {
      unsigned lb = lane_bytes(json_string_value(json_object_get(j, "lane_type")));
      if (!lb || !json_is_array(val) || json_array_size(val) != 16 / lb) break;
      for (unsigned i = 0; i < 16 / lb; i++) {
        if (!parse_u64(json_string_value(json_array_get(val, i)), &u)) goto bad;
        put_le(v->of.v128 + i * lb, u, lb);
      }
      return true;
    }
    case ENCLOS_WASM_FUNCREF:
      if (json_string_value(val) && strcmp(json_string_value(val), "null") == 0) return true;
      break; /* a non-null funcref cannot be written in a script */
    case ENCLOS_WASM_EXTERNREF:
      if (json_string_value(val) && strcmp(json_string_value(val), "null") == 0) return true;
      /* ref.extern N is the host pointer N+1, so that ref.extern 0 is not null. */
      if (!parse_u64(json_string_value(val), &u) || u >= UINTPTR_MAX) break;
      v->of.ref = (void *)(uintptr_t)(u + 1);
      return true;
  }
bad:
  set_detail(s, "cannot read argument value %s", t ? t : "(no type)");
  return false;
}

static void fmt_val(char *buf, size_t n, const enclos_wasm_val *v) {
  switch (v->type) {
    case ENCLOS_WASM_I32: snprintf(buf, n, "i32:0x%08" PRIx32, v->of.i32); return;
    case ENCLOS_WASM_F32: snprintf(buf, n, "f32:0x%08" PRIx32, v->of.f32); return;
    case ENCLOS_WASM_I64: snprintf(buf, n, "i64:0x%016" PRIx64, v->of.i64); return;
    case ENCLOS_WASM_F64: snprintf(buf, n, "f64:0x%016" PRIx64, v->of.f64); return;
    case ENCLOS_WASM_V128: {
      int off = snprintf(buf, n, "v128:");
      for (int i = 15; i >= 0 && off > 0 && (size_t)off < n; i--)
        off += snprintf(buf + off, n - (size_t)off, "%02x", v->of.v128[i]);
      return;
    }
    case ENCLOS_WASM_FUNCREF: snprintf(buf, n, "funcref:%p", v->of.ref); return;
    case ENCLOS_WASM_EXTERNREF:
      if (v->of.ref)
        snprintf(buf, n, "externref:%" PRIuPTR, (uintptr_t)v->of.ref - 1);
      else
        snprintf(buf, n, "externref:null");
      return;
  }
  snprintf(buf, n, "?(type 0x%x)", (unsigned)v->type);
}

/* NaN patterns (spec interpreter/README.md): nan:canonical = only the quiet bit set in the
 * payload (either sign); nan:arithmetic = quiet bit set, any payload, either sign. */
static bool float_matches(const char *want, uint64_t got, unsigned bytes) {
  uint64_t sign = bytes == 4 ? 0x80000000ull : 0x8000000000000000ull;
  uint64_t canon = bytes == 4 ? 0x7fc00000ull : 0x7ff8000000000000ull;
  if (strcmp(want, "nan:canonical") == 0) return (got & ~sign) == canon;
  if (strcmp(want, "nan:arithmetic") == 0) return (got & canon) == canon;
  uint64_t u;
  return parse_u64(want, &u) && u == got;
}

/* Compares one result with one expected JSON value; on mismatch writes why into s->detail. */
static bool result_matches(struct script *s, json_t *exp, const enclos_wasm_val *got, size_t idx) {
  const char *t = json_string_value(json_object_get(exp, "type"));
  json_t *val = json_object_get(exp, "value");
  enclos_wasm_type want = type_of(t ? t : "");
  char gbuf[128];
  fmt_val(gbuf, sizeof gbuf, got);
  char ebuf[256];
  char *dumped = json_dumps(val ? val : json_null(), JSON_ENCODE_ANY | JSON_COMPACT);
  snprintf(ebuf, sizeof ebuf, "%s:%s", t ? t : "?", dumped ? dumped : "?");
  free(dumped); /* allocated by jansson with malloc */
  if (got->type != want) {
    set_detail(s, "result %zu: expected %s, got %s (wrong type)", idx, ebuf, gbuf);
    return false;
  }
  bool ok = false;
  uint64_t u = 0;
  switch (want) {
    case ENCLOS_WASM_I32: ok = parse_u64(json_string_value(val), &u) && u == got->of.i32; break;
    case ENCLOS_WASM_I64: ok = parse_u64(json_string_value(val), &u) && u == got->of.i64; break;
    case ENCLOS_WASM_F32:
      ok = json_string_value(val) && float_matches(json_string_value(val), got->of.f32, 4);
      break;
    case ENCLOS_WASM_F64:
      ok = json_string_value(val) && float_matches(json_string_value(val), got->of.f64, 8);
      break;
    case ENCLOS_WASM_V128: {
      const char *lt = json_string_value(json_object_get(exp, "lane_type"));
      unsigned lb = lane_bytes(lt);
      if (!lb || !json_is_array(val) || json_array_size(val) != 16 / lb) break;
      bool is_float = lt[0] == 'f';
      ok = true;
      for (unsigned i = 0; i < 16 / lb && ok; i++) {
        const char *lane = json_string_value(json_array_get(val, i));
        uint64_t g = get_le(got->of.v128 + i * lb, lb);
        if (!lane) ok = false;
        else if (is_float) ok = float_matches(lane, g, lb);
        else ok = parse_u64(lane, &u) && (u & (lb == 8 ? UINT64_MAX : ((1ull << (8 * lb)) - 1))) == g;
      }
      break;
    }
    case ENCLOS_WASM_FUNCREF:
      /* "null" = ref.null func; no value = (ref.func): any non-null function reference. */
      if (!val) ok = got->of.ref != NULL;
      else ok = json_string_value(val) && strcmp(json_string_value(val), "null") == 0 && !got->of.ref;
      break;
    case ENCLOS_WASM_EXTERNREF:
      if (!val) ok = got->of.ref != NULL; /* (ref.extern): any non-null */
      else if (json_string_value(val) && strcmp(json_string_value(val), "null") == 0)
        ok = got->of.ref == NULL;
      else
        ok = parse_u64(json_string_value(val), &u) && got->of.ref == (void *)(uintptr_t)(u + 1);
      break;
  }
  if (!ok) set_detail(s, "result %zu: expected %s, got %s", idx, ebuf, gbuf);
  return ok;
}

/* ---- actions ------------------------------------------------------------------------- */

struct action_result {
  enclos_err rc;
  enclos_wasm_val results[MAX_PARAMS];
  size_t nresults;
};

/* Runs an invoke or get. Returns false when the action could not even be attempted (missing
 * module or export, bad arguments): s->detail says why. Otherwise r->rc is the call's result. */
static bool run_action(struct script *s, json_t *act, struct action_result *r) {
  memset(r, 0, sizeof *r);
  const char *type = json_string_value(json_object_get(act, "type"));
  const char *modname = json_string_value(json_object_get(act, "module"));
  const char *field = json_string_value(json_object_get(act, "field"));
  if (!type || !field) {
    set_detail(s, "action without type or field");
    return false;
  }
  enclos_wasm_instance *inst = modname ? lookup(s->named, s->nnamed, modname) : s->current;
  if (!inst) {
    set_detail(s, "no module %s to run the action on", modname ? modname : "(current)");
    return false;
  }
  /* Export names in JSON are UTF-8 strings; jansson may hold embedded NULs. */
  enclos_wasm_name name = {.data = field, .len = json_string_length(json_object_get(act, "field"))};
  enclos_wasm_extern ext;
  enclos_err rc = enclos_wasm_instance_export(inst, name, &ext);
  if (rc != ENCLOS_OK) {
    set_detail(s, "export \"%s\": %s: %s", field, enclos_strerror(rc), enclos_err_detail());
    return false;
  }
  if (strcmp(type, "get") == 0) {
    if (ext.kind != ENCLOS_WASM_EXTERN_GLOBAL) {
      set_detail(s, "export \"%s\" is not a global", field);
      return false;
    }
    r->rc = enclos_wasm_global_get(ext, &r->results[0]);
    r->nresults = 1;
    if (r->rc != ENCLOS_OK)
      set_detail(s, "global_get \"%s\": %s: %s", field, enclos_strerror(r->rc), enclos_err_detail());
    return true;
  }
  if (strcmp(type, "invoke") != 0) {
    set_detail(s, "unknown action type %s", type);
    return false;
  }
  if (ext.kind != ENCLOS_WASM_EXTERN_FUNC) {
    set_detail(s, "export \"%s\" is not a function", field);
    return false;
  }
  enclos_wasm_externtype et;
  rc = enclos_wasm_extern_type(ext, &et);
  if (rc != ENCLOS_OK) {
    set_detail(s, "extern_type \"%s\": %s: %s", field, enclos_strerror(rc), enclos_err_detail());
    return false;
  }
  json_t *args = json_object_get(act, "args");
  size_t nargs = json_array_size(args);
  if (nargs > MAX_PARAMS || et.of.func.nresults > MAX_PARAMS) {
    set_detail(s, "too many values for the runner (%zu args)", nargs);
    return false;
  }
  enclos_wasm_val argv[MAX_PARAMS];
  for (size_t i = 0; i < nargs; i++)
    if (!parse_arg(s, json_array_get(args, i), &argv[i])) return false;
  r->nresults = et.of.func.nresults;
  r->rc = enclos_wasm_call(s->store, ext, argv, nargs, r->results, r->nresults);
  if (r->rc != ENCLOS_OK) {
    enclos_wasm_trap trap;
    enclos_wasm_store_trap(s->store, &trap);
    set_detail(s, "invoke \"%s\": %s: %s (trap: %s)", field, enclos_strerror(r->rc),
               enclos_err_detail(), enclos_wasm_trap_message(trap.kind));
  }
  return true;
}

/* The spec's expected trap text must match the engine's message: one is a prefix of the other
 * (the suite sometimes appends detail, e.g. "uninitialized element 2"). */
static bool text_matches(const char *want, const char *got) {
  size_t lw = strlen(want), lg = strlen(got);
  return strncmp(want, got, lw < lg ? lw : lg) == 0 && lw && lg;
}

static bool check_trap(struct script *s, enclos_err rc, const char *want, const char *what) {
  if (rc == ENCLOS_OK) {
    set_detail(s, "%s succeeded, expected trap \"%s\"", what, want);
    return false;
  }
  if (rc != ENCLOS_E_TRAP) {
    /* keep the detail set by the failing step, prefixed with the mismatch */
    char prev[DETAIL_MAX];
    snprintf(prev, sizeof prev, "%s", s->detail);
    set_detail(s, "%s failed with %s, expected trap \"%s\" [%s]", what, enclos_strerror(rc), want,
               prev);
    return false;
  }
  enclos_wasm_trap trap;
  enclos_wasm_store_trap(s->store, &trap);
  const char *msg = enclos_wasm_trap_message(trap.kind);
  if (!text_matches(want, msg)) {
    set_detail(s, "%s trapped with \"%s\", expected \"%s\"", what, msg, want);
    return false;
  }
  return true;
}

/* ---- commands ------------------------------------------------------------------------ */

static enum outcome cmd_module(struct script *s, json_t *c) {
  const char *fname = json_string_value(json_object_get(c, "filename"));
  const char *name = json_string_value(json_object_get(c, "name"));
  s->current = NULL; /* a failed module leaves no current module */
  if (!fname) {
    set_detail(s, "module command without filename");
    return FAIL;
  }
  enclos_wasm_module *m = NULL;
  if (!load_valid(s, fname, &m)) return FAIL;
  enclos_wasm_instance *inst = NULL;
  enclos_err rc = instantiate(s, m, &inst);
  enclos_wasm_module_free(m);
  if (rc != ENCLOS_OK) {
    if (rc != ENCLOS_E_INTERNAL)
      set_detail(s, "instantiate %s: %s: %s", fname, enclos_strerror(rc), enclos_err_detail());
    return FAIL;
  }
  s->current = inst;
  if (name && !bind(s->named, &s->nnamed, name, inst)) {
    set_detail(s, "too many named modules");
    return FAIL;
  }
  return PASS;
}

static enum outcome cmd_register(struct script *s, json_t *c) {
  const char *name = json_string_value(json_object_get(c, "name"));
  const char *as = json_string_value(json_object_get(c, "as"));
  enclos_wasm_instance *inst = name ? lookup(s->named, s->nnamed, name) : s->current;
  if (!as || !inst) {
    set_detail(s, "register: no module %s", name ? name : "(current)");
    return FAIL;
  }
  if (!bind(s->registered, &s->nregistered, as, inst)) {
    set_detail(s, "too many registered modules");
    return FAIL;
  }
  return PASS;
}

static enum outcome cmd_action(struct script *s, json_t *c) {
  struct action_result r;
  if (!run_action(s, json_object_get(c, "action"), &r)) return FAIL;
  return r.rc == ENCLOS_OK ? PASS : FAIL;
}

static enum outcome cmd_assert_return(struct script *s, json_t *c) {
  struct action_result r;
  if (!run_action(s, json_object_get(c, "action"), &r)) return FAIL;
  if (r.rc != ENCLOS_OK) return FAIL; /* detail set by run_action */
  json_t *exp = json_object_get(c, "expected");
  if (json_array_size(exp) != r.nresults) {
    set_detail(s, "expected %zu results, the function returns %zu", json_array_size(exp),
               r.nresults);
    return FAIL;
  }
  for (size_t i = 0; i < r.nresults; i++)
    if (!result_matches(s, json_array_get(exp, i), &r.results[i], i)) return FAIL;
  return PASS;
}

static enum outcome cmd_assert_trap(struct script *s, json_t *c, bool exhaustion) {
  const char *want = json_string_value(json_object_get(c, "text"));
  struct action_result r;
  if (!run_action(s, json_object_get(c, "action"), &r)) return FAIL;
  if (exhaustion && r.rc == ENCLOS_E_TRAP) {
    enclos_wasm_trap trap;
    enclos_wasm_store_trap(s->store, &trap);
    if (trap.kind != ENCLOS_WASM_TRAP_STACK_EXHAUSTED) {
      set_detail(s, "trapped with \"%s\", expected call stack exhaustion",
                 enclos_wasm_trap_message(trap.kind));
      return FAIL;
    }
  }
  return check_trap(s, r.rc, want ? want : "", "call") ? PASS : FAIL;
}

/* assert_invalid / assert_malformed: loading must fail with the given error class. */
static enum outcome cmd_assert_load_fails(struct script *s, json_t *c, enclos_err want) {
  const char *fname = json_string_value(json_object_get(c, "filename"));
  const char *mtype = json_string_value(json_object_get(c, "module_type"));
  const char *text = json_string_value(json_object_get(c, "text"));
  if (mtype && strcmp(mtype, "binary") != 0) return NA; /* text module: needs a text parser */
  if (!fname) {
    set_detail(s, "assertion without filename");
    return FAIL;
  }
  enclos_wasm_module *m = NULL;
  bool io_ok;
  enclos_err rc = load_module(s, fname, &m, &io_ok);
  if (!io_ok) return FAIL;
  if (rc == ENCLOS_OK) {
    enclos_wasm_module_free(m);
    set_detail(s, "%s loaded, expected %s (\"%s\")", fname, enclos_strerror(want), text ? text : "");
    return FAIL;
  }
  if (rc != want) {
    set_detail(s, "%s: got %s (%s), expected %s (\"%s\")", fname, enclos_strerror(rc),
               enclos_err_detail(), enclos_strerror(want), text ? text : "");
    return FAIL;
  }
  return PASS;
}

static enum outcome cmd_assert_instantiate_fails(struct script *s, json_t *c, bool unlinkable) {
  const char *fname = json_string_value(json_object_get(c, "filename"));
  const char *text = json_string_value(json_object_get(c, "text"));
  if (!fname) {
    set_detail(s, "assertion without filename");
    return FAIL;
  }
  enclos_wasm_module *m = NULL;
  if (!load_valid(s, fname, &m)) return FAIL;
  enclos_wasm_instance *inst = NULL;
  s->detail[0] = 0;
  enclos_err rc = instantiate(s, m, &inst);
  enclos_wasm_module_free(m);
  if (rc == ENCLOS_E_INTERNAL && s->detail[0]) return FAIL; /* runner-side import failure */
  if (unlinkable) {
    if (rc == ENCLOS_E_UNLINKABLE) return PASS;
    set_detail(s, "instantiate %s: got %s (%s), expected unlinkable (\"%s\")", fname,
               rc == ENCLOS_OK ? "success" : enclos_strerror(rc),
               rc == ENCLOS_OK ? "" : enclos_err_detail(), text ? text : "");
    return FAIL;
  }
  if (rc != ENCLOS_OK && rc != ENCLOS_E_TRAP)
    set_detail(s, "%s", enclos_err_detail());
  return check_trap(s, rc, text ? text : "", "instantiation") ? PASS : FAIL;
}

static enum outcome run_command(struct script *s, json_t *c, enum kind k) {
  switch (k) {
    case K_MODULE: return cmd_module(s, c);
    case K_REGISTER: return cmd_register(s, c);
    case K_ACTION: return cmd_action(s, c);
    case K_ASSERT_RETURN: return cmd_assert_return(s, c);
    case K_ASSERT_TRAP: return cmd_assert_trap(s, c, false);
    case K_ASSERT_EXHAUSTION: return cmd_assert_trap(s, c, true);
    case K_ASSERT_INVALID: return cmd_assert_load_fails(s, c, ENCLOS_E_INVALID);
    case K_ASSERT_MALFORMED: return cmd_assert_load_fails(s, c, ENCLOS_E_MALFORMED);
    case K_ASSERT_UNLINKABLE: return cmd_assert_instantiate_fails(s, c, true);
    case K_ASSERT_UNINSTANTIABLE: return cmd_assert_instantiate_fails(s, c, false);
    case K_UNKNOWN:
    case K_COUNT: break;
  }
  set_detail(s, "unknown command type");
  return FAIL;
}

/* ---- one file (in the child) --------------------------------------------------------- */

static void send_progress(const struct script *s) {
  const char *p = (const char *)&s->counts;
  size_t left = sizeof s->counts;
  while (left) {
    ssize_t w = write(s->progress_fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    left -= (size_t)w;
  }
}

static int run_file_child(const char *path, const char *display, json_t *root, int fd) {
  struct script *s = enclos_calloc(1, sizeof *s);
  if (!s) return 2;
  char *dir = dup_str(path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  else {
    enclos_free(dir);
    dir = dup_str(".");
  }
  s->dir = dir;
  s->file = display;
  s->progress_fd = fd;
  enclos_wasm_limits lim;
  enclos_wasm_limits_default(&lim);
  if (opt_no_guard) lim.guard_pages = false;
  enclos_err rc = enclos_wasm_store_new(&lim, &s->store);
  json_t *cmds = json_object_get(root, "commands");
  for (size_t i = 0; i < json_array_size(cmds); i++) {
    json_t *c = json_array_get(cmds, i);
    const char *t = json_string_value(json_object_get(c, "type"));
    enum kind k = kind_of(t ? t : "");
    s->detail[0] = 0;
    enum outcome o;
    if (rc != ENCLOS_OK) {
      o = FAIL;
      set_detail(s, "store_new: %s: %s", enclos_strerror(rc), enclos_err_detail());
    } else {
      o = run_command(s, c, k);
    }
    s->counts.n[k][o]++;
    s->counts.done++;
    if (o == FAIL && opt_verbose) {
      printf("  %s:%lld: %s FAILED: %s\n", display,
             (long long)json_integer_value(json_object_get(c, "line")), t ? t : "?", s->detail);
      fflush(stdout);
    }
    send_progress(s);
  }
  enclos_wasm_store_free(s->store);
  for (size_t i = 0; i < s->nnamed; i++) enclos_free(s->named[i].name);
  for (size_t i = 0; i < s->nregistered; i++) enclos_free(s->registered[i].name);
  enclos_free(dir);
  enclos_free(s);
  return 0;
}

/* ---- driver (parent) ----------------------------------------------------------------- */

static void print_counts(const char *label, const struct counts *c) {
  printf("%s: %u passed, %u failed, %u n/a\n", label, counts_sum(c, PASS), counts_sum(c, FAIL),
         counts_sum(c, NA));
}

static bool run_file(const char *path, struct counts *total) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char display[256];
  snprintf(display, sizeof display, "%s", base);
  char *dot = strrchr(display, '.');
  if (dot && strcmp(dot, ".json") == 0) *dot = 0;

  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
  if (!root || !json_is_array(json_object_get(root, "commands"))) {
    printf("%s: cannot read command list: %s (line %d)\n", display, root ? "no commands" : jerr.text,
           jerr.line);
    json_decref(root);
    total->n[K_UNKNOWN][FAIL]++;
    return false;
  }
  size_t ncmds = json_array_size(json_object_get(root, "commands"));

  int pfd[2];
  if (pipe(pfd) != 0) {
    perror("pipe");
    exit(2);
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    close(pfd[0]);
    alarm(opt_timeout);
    int r = run_file_child(path, display, root, pfd[1]);
    json_decref(root);
    fflush(stdout);
    close(pfd[1]);
    _exit(r);
  }
  close(pfd[1]);

  struct counts c, got;
  memset(&c, 0, sizeof c);
  size_t have = 0;
  for (;;) {
    ssize_t r = read(pfd[0], (char *)&got + have, sizeof got - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    have += (size_t)r;
    if (have == sizeof got) {
      c = got;
      have = 0;
    }
  }
  close(pfd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  bool crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (crashed) {
    /* Commands the child never finished count as failures. */
    uint32_t lost = (uint32_t)ncmds > c.done ? (uint32_t)ncmds - c.done : 1;
    c.n[K_UNKNOWN][FAIL] += lost;
    json_t *at = json_array_get(json_object_get(root, "commands"), c.done);
    const char *what = json_string_value(json_object_get(at, "type"));
    long long line = (long long)json_integer_value(json_object_get(at, "line"));
    if (WIFSIGNALED(status))
      printf("  %s:%lld: %s: runner child died with signal %d%s after %u of %zu commands\n",
             display, line, what ? what : "?", WTERMSIG(status),
             WTERMSIG(status) == SIGALRM ? " (timeout)" : "", c.done, ncmds);
    else
      printf("  %s:%lld: %s: runner child exited with status %d after %u of %zu commands\n",
             display, line, what ? what : "?", WEXITSTATUS(status), c.done, ncmds);
  }
  json_decref(root);
  print_counts(display, &c);
  fflush(stdout);
  for (int k = 0; k < K_COUNT; k++)
    for (int o = 0; o < 3; o++) total->n[k][o] += c.n[k][o];
  return counts_sum(&c, FAIL) == 0;
}

/* ---- --selftest: the value plumbing without an engine ---------------------------------- */

/* Builds the value a correct engine would return for an expected JSON value (NaN patterns get
 * a NaN of that class, "any non-null reference" gets a dummy pointer). */
static bool value_for_expected(struct script *s, json_t *exp, enclos_wasm_val *v) {
  const char *t = json_string_value(json_object_get(exp, "type"));
  json_t *val = json_object_get(exp, "value");
  enclos_wasm_type ty = type_of(t ? t : "");
  if ((ty == ENCLOS_WASM_FUNCREF || ty == ENCLOS_WASM_EXTERNREF) && !val) {
    memset(v, 0, sizeof *v);
    v->type = ty;
    v->of.ref = (void *)(uintptr_t)0x1000;
    return true;
  }
  json_t *copy = json_deep_copy(exp);
  if (!copy) return false;
  const char *lt = json_string_value(json_object_get(exp, "lane_type"));
  unsigned fbytes = ty == ENCLOS_WASM_F32 ? 4 : ty == ENCLOS_WASM_F64 ? 8 : 0;
  if (ty == ENCLOS_WASM_V128 && lt && lt[0] == 'f') fbytes = lane_bytes(lt);
  json_t *cv = json_object_get(copy, "value");
  for (size_t i = 0; fbytes && i < (json_is_array(cv) ? json_array_size(cv) : 1); i++) {
    json_t *lane = json_is_array(cv) ? json_array_get(cv, i) : cv;
    const char *str = json_string_value(lane);
    if (!str) continue;
    /* canonical: quiet bit only; arithmetic: quiet bit plus a payload bit, negative sign */
    const char *rep = NULL;
    if (strcmp(str, "nan:canonical") == 0) rep = fbytes == 4 ? "2143289344" : "9221120237041090560";
    if (strcmp(str, "nan:arithmetic") == 0)
      rep = fbytes == 4 ? "4290772993" : "18444492273895866369";
    if (rep) json_string_set(lane, rep);
  }
  bool ok = parse_arg(s, copy, v);
  json_decref(copy);
  return ok;
}

/* For every assert_return: the value built from the expectation must match it, and the same
 * value with one bit flipped (or a null/non-null swap) must not. */
static int selftest(const char *path) {
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
  if (!root) {
    printf("%s: %s\n", path, jerr.text);
    return 1;
  }
  struct script *s = enclos_calloc(1, sizeof *s);
  if (!s) return 2;
  uint32_t checked = 0, bad = 0;
  json_t *cmds = json_object_get(root, "commands");
  for (size_t i = 0; i < json_array_size(cmds); i++) {
    json_t *c = json_array_get(cmds, i);
    const char *t = json_string_value(json_object_get(c, "type"));
    json_t *args = json_object_get(json_object_get(c, "action"), "args");
    for (size_t a = 0; a < json_array_size(args); a++) {
      enclos_wasm_val v;
      if (!parse_arg(s, json_array_get(args, a), &v)) {
        printf("  %s: command %zu: argument %zu: %s\n", path, i, a, s->detail);
        bad++;
      }
    }
    if (!t || strcmp(t, "assert_return") != 0) continue;
    json_t *exp = json_object_get(c, "expected");
    for (size_t k = 0; k < json_array_size(exp); k++) {
      json_t *e = json_array_get(exp, k);
      enclos_wasm_val v;
      checked++;
      if (!value_for_expected(s, e, &v) || !result_matches(s, e, &v, k)) {
        printf("  %s: command %zu: own value rejected: %s\n", path, i, s->detail);
        bad++;
        continue;
      }
      switch (v.type) {
        case ENCLOS_WASM_I32: case ENCLOS_WASM_F32: v.of.i32 ^= 1u << 30; break;
        case ENCLOS_WASM_I64: case ENCLOS_WASM_F64: v.of.i64 ^= 1ull << 62; break;
        case ENCLOS_WASM_V128: v.of.v128[15] ^= 0x40; break;
        case ENCLOS_WASM_FUNCREF:
        case ENCLOS_WASM_EXTERNREF:
          v.of.ref = v.of.ref ? NULL : (void *)(uintptr_t)0x1000;
          break;
      }
      if (result_matches(s, e, &v, k)) {
        printf("  %s: command %zu: a wrong value was accepted\n", path, i);
        bad++;
      }
    }
  }
  printf("selftest %s: %u expected values checked, %u problems\n", path, checked, bad);
  enclos_free(s);
  json_decref(root);
  return bad ? 1 : 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: spec_runner [-v] [--no-guard] [--timeout SECONDS] FILE.json...\n"
          "  -v          print every failure (line, expected vs got, error detail)\n"
          "  --no-guard  run with guard_pages=false (explicit bounds checks)\n"
          "  --timeout   seconds per file before it is counted as hung (default 600)\n"
          "  --selftest FILE.json...  check the value parsing/matching on every assert_return\n"
          "              (no engine needed: values are built from the expectations)\n");
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-v") == 0) {
      opt_verbose = true;
    } else if (strcmp(argv[i], "--no-guard") == 0) {
      opt_no_guard = true;
    } else if (strcmp(argv[i], "--selftest") == 0 && i + 1 < argc) {
      int r = 0;
      for (i++; i < argc; i++) r |= selftest(argv[i]);
      return r;
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      opt_timeout = (unsigned)strtoul(argv[++i], NULL, 10);
    } else {
      usage();
      return 2;
    }
  }
  if (i == argc) {
    usage();
    return 2;
  }
  struct counts total;
  memset(&total, 0, sizeof total);
  bool ok = true;
  for (; i < argc; i++) ok &= run_file(argv[i], &total);
  print_counts("total", &total);
  for (int k = 0; k < K_COUNT; k++) {
    uint32_t *n = total.n[k];
    if (n[PASS] + n[FAIL] + n[NA])
      printf("  %-22s %6u passed, %6u failed, %6u n/a\n", kind_names[k], n[PASS], n[FAIL], n[NA]);
  }
  return ok ? 0 : 1;
}
