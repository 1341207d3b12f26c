/* policy.c: who may use which route of `enclos serve` (issue 8, "Auth").
 *
 * Management (deploy, list, inspect, delete apps) is refused unless JWT auth is configured;
 * --dev-insecure-admin lifts that for local demos and the verdict says so, so the server
 * can print a warning on every such request. Health, readiness, metrics, attestation and
 * configuration are public by design: clients verify attestation before trusting anything.
 */
#include <stdio.h>
#include <string.h>

#include <enclos/server_auth.h>

static void decide(enclos_auth_decision *out, enclos_auth_verdict v, const char *reason) {
  out->verdict = v;
  out->status = v == ENCLOS_AUTH_UNAUTHENTICATED ? 401 : v == ENCLOS_AUTH_FORBIDDEN ? 403 : 0;
  out->reason = reason;
}

void enclos_auth_route(const enclos_auth_config *cfg, enclos_route_id route,
                       const enclos_jwt_claims *token, enclos_auth_decision *out) {
  if (!out) return;
  if (!enclos_route_is_management(route)) {
    decide(out, ENCLOS_AUTH_ALLOW, "public route");
    return;
  }
  if (!cfg) {
    decide(out, ENCLOS_AUTH_FORBIDDEN, "management is disabled: no auth configured");
    return;
  }
  /* A configured key set always wins: the insecure flag only covers the no-auth case. */
  if (!cfg->keys) {
    if (cfg->dev_insecure_admin)
      decide(out, ENCLOS_AUTH_ALLOW_INSECURE,
             "management allowed without auth (--dev-insecure-admin)");
    else
      decide(out, ENCLOS_AUTH_FORBIDDEN, "management is disabled: no auth configured");
    return;
  }
  if (!token) {
    decide(out, ENCLOS_AUTH_UNAUTHENTICATED, "management needs a valid bearer token");
    return;
  }
  if (cfg->admin_role && !enclos_jwt_has_role(token, cfg->admin_role)) {
    decide(out, ENCLOS_AUTH_FORBIDDEN, "token lacks the admin role");
    return;
  }
  decide(out, ENCLOS_AUTH_ALLOW, "admin token");
}

void enclos_auth_app(const enclos_auth_config *cfg, enclos_app_auth_mode mode, const char *role,
                     const enclos_jwt_claims *token, enclos_auth_decision *out) {
  if (!out) return;
  if (mode == ENCLOS_APP_AUTH_PUBLIC) {
    decide(out, ENCLOS_AUTH_ALLOW, "public app");
    return;
  }
  if (!cfg || !cfg->keys) {
    decide(out, ENCLOS_AUTH_FORBIDDEN, "app requires auth but the server has no keys configured");
    return;
  }
  if (!token) {
    decide(out, ENCLOS_AUTH_UNAUTHENTICATED, "app requires a valid bearer token");
    return;
  }
  if (mode == ENCLOS_APP_AUTH_ROLE && (!role || !enclos_jwt_has_role(token, role))) {
    decide(out, ENCLOS_AUTH_FORBIDDEN, "token lacks the role the app requires");
    return;
  }
  decide(out, ENCLOS_AUTH_ALLOW, "authenticated");
}

void enclos_auth_www_authenticate(enclos_jwt_reason why, char *out, size_t cap) {
  if (!out || cap == 0) return;
  /* RFC 6750 §3.1: no error attribute when the request carried no credentials. */
  if (why == ENCLOS_JWT_OK)
    snprintf(out, cap, "Bearer realm=\"enclos\"");
  else
    snprintf(out, cap, "Bearer realm=\"enclos\", error=\"invalid_token\", error_description=\"%s\"",
             enclos_jwt_reason_name(why));
}
