/**
 * \file server_auth.h
 * \brief JWT verification (RFC 7519 over RFC 7515 compact JWS), JWKS key sets (RFC 7517),
 *        and the allow/deny policy of `enclos serve` for management and app routes.
 *
 * Algorithms: ES256 (ECDSA P-256, raw r‖s, RFC 7518 §3.4) and RS256 (RSASSA-PKCS1-v1_5
 * SHA-256, RFC 7518 §3.3, keys of at least ENCLOS_RSA_MIN_BITS). The algorithm must match
 * the key's type (and the JWK's "alg" when it has one): "none", HS* and any other value are
 * refused, so an RSA public key can never be used as an HMAC secret. Every refusal names
 * its reason (enclos_jwt_reason) and the error detail says what was wrong.
 */
#ifndef ENCLOS_SERVER_AUTH_H
#define ENCLOS_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/error.h>
#include <enclos/server_http.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits ------------------------------------------------------------------------ */

/** Largest compact token accepted (bytes). */
#define ENCLOS_JWT_MAX_SIZE 8192
/** Largest JWKS document (bytes). */
#define ENCLOS_JWKS_MAX_SIZE (256 * 1024)
/** Most keys in a JWKS. */
#define ENCLOS_JWKS_MAX_KEYS 64
/** Longest "kid". */
#define ENCLOS_JWT_MAX_KID 128
/** Most roles taken from the roles claim. */
#define ENCLOS_JWT_MAX_ROLES 32
/** Longest role, "sub" and "iss" (bytes, without the NUL). */
#define ENCLOS_JWT_MAX_ROLE 64
#define ENCLOS_JWT_MAX_SUB 256
#define ENCLOS_JWT_MAX_ISS 256
/** Largest clock skew a configuration may allow (seconds). */
#define ENCLOS_JWT_MAX_SKEW 300
/** Default clock skew (seconds). */
#define ENCLOS_JWT_DEFAULT_SKEW 60

/* ---- JWKS (RFC 7517) -------------------------------------------------------------- */

/** A parsed key set. Opaque; immutable once parsed, so it may be shared between threads. */
typedef struct enclos_jwks enclos_jwks;

/**
 * Parses a JWKS document {"keys":[...]}. EC P-256 keys ("kty":"EC","crv":"P-256", x, y)
 * and RSA keys ("kty":"RSA", n, e, at least ENCLOS_RSA_MIN_BITS) are imported; keys of
 * other types or curves, and keys whose "use" is not "sig", are skipped (RFC 7517 §5).
 * A known key type with bad members, a duplicate "kid", or no usable key at all is an
 * error. The caller frees the set with enclos_jwks_free.
 */
ENCLOS_MUST_USE enclos_err enclos_jwks_parse(const void *json, size_t size, enclos_jwks **out);
/** enclos_jwks_parse on the contents of \p path (at most ENCLOS_JWKS_MAX_SIZE bytes). */
ENCLOS_MUST_USE enclos_err enclos_jwks_load_file(const char *path, enclos_jwks **out);
/** Number of usable keys. */
size_t enclos_jwks_count(const enclos_jwks *set);
/** Adds a reference (thread-safe); each holder calls enclos_jwks_free once. */
enclos_jwks *enclos_jwks_ref(enclos_jwks *set);
/** Drops a reference; the set is freed with the last one. NULL is ignored. */
void enclos_jwks_free(enclos_jwks *set);

/* ---- JWKS source: a file or URL, cached and refreshed --------------------------------- */

/** Default time a fetched key set is used before it is fetched again (seconds). */
#define ENCLOS_JWKS_DEFAULT_REFRESH 300
/** Shortest interval between fetches, also after failures and unknown-kid hints (seconds). */
#define ENCLOS_JWKS_MIN_REFETCH 10
/** Time limit of one URL fetch (seconds). */
#define ENCLOS_JWKS_FETCH_TIMEOUT 10

/** Where keys come from. Thread-safe; fetching blocks, so call enclos_jwks_source_get from a
 *  worker or at startup, not from an event-loop callback. */
typedef struct enclos_jwks_source enclos_jwks_source;

/**
 * A source for \p location: "https://..." (or "http://" to 127.0.0.1, [::1] or localhost
 * only, for tests and sidecars), otherwise a file path. \p refresh seconds between fetches
 * (0 = ENCLOS_JWKS_DEFAULT_REFRESH). Nothing is fetched until the first get.
 */
ENCLOS_MUST_USE enclos_err enclos_jwks_source_new(const char *location, int64_t refresh,
                                                  enclos_jwks_source **out);
void enclos_jwks_source_free(enclos_jwks_source *src);

/**
 * The current key set (a new reference for the caller to enclos_jwks_free), fetching it
 * when none is cached or the cached one is older than the refresh interval at \p now.
 * A failed refresh keeps serving the previous set (and retries after
 * ENCLOS_JWKS_MIN_REFETCH); it is an error only when no set was ever loaded.
 */
ENCLOS_MUST_USE enclos_err enclos_jwks_source_get(enclos_jwks_source *src, int64_t now,
                                                  enclos_jwks **out);
/** Asks for an early refresh (e.g. after ENCLOS_JWT_UNKNOWN_KID: keys may have rotated);
 *  honoured at most once per ENCLOS_JWKS_MIN_REFETCH. */
void enclos_jwks_source_invalidate(enclos_jwks_source *src);
/** Number of successful loads so far (for metrics and tests). */
uint64_t enclos_jwks_source_loads(enclos_jwks_source *src);

/* ---- JWT verification (RFC 7519) --------------------------------------------------- */

typedef enum enclos_jwt_reason {
  ENCLOS_JWT_OK = 0,
  ENCLOS_JWT_MALFORMED,       /* not three base64url parts of JSON objects */
  ENCLOS_JWT_TOO_LARGE,       /* longer than ENCLOS_JWT_MAX_SIZE */
  ENCLOS_JWT_ALG_UNSUPPORTED, /* "none", HS256 or anything but ES256/RS256; or "crit" */
  ENCLOS_JWT_ALG_MISMATCH,    /* alg does not fit the selected key */
  ENCLOS_JWT_UNKNOWN_KID,     /* no key with that kid (or no unique key without one) */
  ENCLOS_JWT_BAD_SIGNATURE,
  ENCLOS_JWT_EXPIRED,         /* now >= exp + skew */
  ENCLOS_JWT_NOT_YET_VALID,   /* now < nbf - skew */
  ENCLOS_JWT_ISSUED_IN_FUTURE,/* now < iat - skew */
  ENCLOS_JWT_WRONG_ISSUER,
  ENCLOS_JWT_WRONG_AUDIENCE,
  ENCLOS_JWT_MISSING_CLAIM,   /* exp (when required), iss/aud (when configured) */
  ENCLOS_JWT_BAD_CLAIM,       /* a claim of the wrong type or over a limit */
} enclos_jwt_reason;

/** Short name of a reason ("expired", "wrong_audience", ...), for logs and error bodies. */
const char *enclos_jwt_reason_name(enclos_jwt_reason r);

typedef struct enclos_jwt_config {
  const char *issuer;      /**< required "iss" value, or NULL to accept any */
  const char *audience;    /**< must appear in "aud" (string or array); NULL = refuse any token
                                 that carries "aud" (RFC 7519 §4.1.3) */
  const char *roles_claim; /**< claim holding roles (array or space-separated), NULL = "roles" */
  int64_t skew;            /**< allowed clock skew in seconds, 0..ENCLOS_JWT_MAX_SKEW */
  bool require_exp;        /**< refuse tokens without "exp" (recommended: true) */
} enclos_jwt_config;

/** Defaults: any issuer, no audience (tokens with "aud" refused), roles claim "roles",
 *  skew 60 s, exp required. */
void enclos_jwt_config_default(enclos_jwt_config *cfg);

typedef struct enclos_jwt_claims {
  char alg[8];
  char kid[ENCLOS_JWT_MAX_KID + 1];
  char sub[ENCLOS_JWT_MAX_SUB + 1];
  char iss[ENCLOS_JWT_MAX_ISS + 1];
  bool has_exp, has_nbf, has_iat;
  int64_t exp, nbf, iat;
  size_t role_count;
  char roles[ENCLOS_JWT_MAX_ROLES][ENCLOS_JWT_MAX_ROLE + 1];
} enclos_jwt_claims;

/**
 * Verifies a compact JWS token at time \p now (Unix seconds; a parameter so callers and
 * tests control the clock) and extracts its claims into \p out.
 * Errors: ENCLOS_E_MALFORMED, ENCLOS_E_LIMIT, ENCLOS_E_UNSUPPORTED (alg), ENCLOS_E_POLICY
 * (alg mismatch, issuer, audience, missing or bad claim), ENCLOS_E_NOT_FOUND (kid),
 * ENCLOS_E_VERIFY (signature), ENCLOS_E_EXPIRED (exp, nbf, iat), each with \p why set
 * (may be NULL) and a detail naming the reason.
 */
ENCLOS_MUST_USE enclos_err enclos_jwt_verify(const enclos_jwks *keys, const enclos_jwt_config *cfg,
                                             int64_t now, const char *token, size_t len,
                                             enclos_jwt_claims *out, enclos_jwt_reason *why);

/** True when the verified claims include \p role. */
bool enclos_jwt_has_role(const enclos_jwt_claims *claims, const char *role);

/**
 * Extracts the token from an "Authorization: Bearer <token>" value (RFC 6750 §2.1; the
 * scheme is case-insensitive). ENCLOS_E_AUTH when the value is not a Bearer credential.
 */
ENCLOS_MUST_USE enclos_err enclos_auth_bearer(const char *value, size_t len, const char **token,
                                              size_t *token_len);

/* ---- Policy ------------------------------------------------------------------------ */

typedef struct enclos_auth_config {
  const enclos_jwks *keys;  /**< NULL when no JWT auth is configured */
  enclos_jwt_config jwt;
  const char *admin_role;   /**< role needed for management, or NULL for any valid token */
  bool dev_insecure_admin;  /**< --dev-insecure-admin: management without auth (demos) */
} enclos_auth_config;

typedef enum enclos_auth_verdict {
  ENCLOS_AUTH_ALLOW = 0,
  ENCLOS_AUTH_ALLOW_INSECURE, /* allowed only because of dev_insecure_admin: log a warning */
  ENCLOS_AUTH_UNAUTHENTICATED,/* 401 with WWW-Authenticate: Bearer */
  ENCLOS_AUTH_FORBIDDEN,      /* 403 */
} enclos_auth_verdict;

typedef struct enclos_auth_decision {
  enclos_auth_verdict verdict;
  int status;          /* 0 when allowed, else 401 or 403 */
  const char *reason;  /* static text naming why (for the JSON error message and logs) */
} enclos_auth_decision;

/**
 * Decides whether a request on \p route may proceed. Public routes are always allowed.
 * Management routes are refused (403) when no auth is configured, unless
 * dev_insecure_admin is set (ALLOW_INSECURE); with auth configured they need a verified
 * token (\p token, NULL when absent or not valid -> 401) carrying admin_role when one is
 * configured (403 otherwise). App routes are allowed here: the app's own policy is
 * checked by enclos_auth_app.
 */
void enclos_auth_route(const enclos_auth_config *cfg, enclos_route_id route,
                       const enclos_jwt_claims *token, enclos_auth_decision *out);

/**
 * Writes the WWW-Authenticate value for a 401 (RFC 6750 §3): `Bearer realm="enclos"` when
 * no token was sent (\p why ENCLOS_JWT_OK), else with error="invalid_token" and the reason
 * name as error_description. \p out holds at least 128 bytes.
 */
void enclos_auth_www_authenticate(enclos_jwt_reason why, char *out, size_t cap);

/** An app's own policy (from its manifest). */
typedef enum enclos_app_auth_mode {
  ENCLOS_APP_AUTH_PUBLIC = 0,
  ENCLOS_APP_AUTH_AUTHENTICATED, /* any verified token */
  ENCLOS_APP_AUTH_ROLE,          /* a verified token carrying the role */
} enclos_app_auth_mode;

/** Decides an app call: PUBLIC allows all; otherwise 401 without a token, 403 without the
 *  role; and 403 when the app needs auth but the server has no keys configured. */
void enclos_auth_app(const enclos_auth_config *cfg, enclos_app_auth_mode mode, const char *role,
                     const enclos_jwt_claims *token, enclos_auth_decision *out);

#ifdef __cplusplus
}
#endif
#endif
