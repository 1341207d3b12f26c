/**
 * \file tls.h
 * \brief TLS 1.3 connections for RA-TLS (OpenSSL behind our API): server and client contexts,
 * blocking connections on a socket, the peer chain, and RFC 8446 §7.5 / RFC 5705 exporters.
 *
 * The client context does no X.509 path validation of its own: the RA-TLS verifier
 * (verify.h) decides on the peer chain after the handshake.
 */
#ifndef ENCLOS_TLS_H
#define ENCLOS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <enclos/crypto.h>
#include <enclos/error.h>
#include <enclos/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Exporter label and size for evidence bound to a TLS session (docs/attestation.md §9). */
#define ENCLOS_TLS_EXPORTER_LABEL "EXPORTER-enclos-attestation"
#define ENCLOS_TLS_EXPORTER_SIZE 32

typedef struct enclos_tls_ctx enclos_tls_ctx;
typedef struct enclos_tls_conn enclos_tls_conn;

/** Server context presenting \p chain (leaf first) with \p key. TLS 1.3 only. */
ENCLOS_MUST_USE enclos_err enclos_tls_server_ctx(const enclos_pkey *key, enclos_x509 *const *chain,
                                                 size_t n, enclos_tls_ctx **out);
/** Client context (TLS 1.3 only, no built-in certificate validation; see above). */
ENCLOS_MUST_USE enclos_err enclos_tls_client_ctx(enclos_tls_ctx **out);
void enclos_tls_ctx_free(enclos_tls_ctx *ctx);

/** Handshakes on connected socket \p fd (the connection does not close \p fd). */
ENCLOS_MUST_USE enclos_err enclos_tls_accept(enclos_tls_ctx *ctx, int fd, enclos_tls_conn **out);
ENCLOS_MUST_USE enclos_err enclos_tls_connect(enclos_tls_ctx *ctx, int fd, const char *sni,
                                              enclos_tls_conn **out);
void enclos_tls_conn_free(enclos_tls_conn *c);

/** The peer's chain as sent, leaf first (caller frees with enclos_x509_list_free). */
ENCLOS_MUST_USE enclos_err enclos_tls_peer_chain(enclos_tls_conn *c, enclos_x509 ***out, size_t *n);

/** SSL_export_keying_material(label, no context) of this connection. */
ENCLOS_MUST_USE enclos_err enclos_tls_exporter(enclos_tls_conn *c, const char *label, uint8_t *out,
                                               size_t size);

/** Reads up to \p size bytes; *got = 0 at clean end of stream. */
ENCLOS_MUST_USE enclos_err enclos_tls_read(enclos_tls_conn *c, void *buf, size_t size, size_t *got);
ENCLOS_MUST_USE enclos_err enclos_tls_write(enclos_tls_conn *c, const void *buf, size_t size);

/* ---- Non-blocking server connections (event loops; `enclos serve`) -------------------- */

/** Adds a reference to \p ctx (thread-safe); each holder calls enclos_tls_ctx_free once. */
enclos_tls_ctx *enclos_tls_ctx_ref(enclos_tls_ctx *ctx);

/**
 * Server Name Indication (RFC 6066 §3): called during the handshake with the name the client
 * sent (NULL when none). Return a context (with a reference for the callee, which drops it) to
 * present that context's certificate instead, or NULL to keep \p ctx's. Runs on the thread
 * that drives the handshake.
 */
typedef enclos_tls_ctx *(*enclos_tls_sni_fn)(void *arg, const char *server_name);
void enclos_tls_ctx_set_sni(enclos_tls_ctx *ctx, enclos_tls_sni_fn fn, void *arg);

/** Returns 0 (done), ENCLOS_TLS_WANT_READ or ENCLOS_TLS_WANT_WRITE through \p want. */
#define ENCLOS_TLS_WANT_READ 1
#define ENCLOS_TLS_WANT_WRITE 2

/** A server connection on non-blocking socket \p fd; nothing is sent until the first step. */
ENCLOS_MUST_USE enclos_err enclos_tls_server_conn(enclos_tls_ctx *ctx, int fd, enclos_tls_conn **out);
/**
 * Continues the handshake: ENCLOS_OK when complete; ENCLOS_E_AGAIN with \p want saying what
 * the socket must become; ENCLOS_E_PROTOCOL (bad peer data) or ENCLOS_E_CLOSED otherwise.
 */
ENCLOS_MUST_USE enclos_err enclos_tls_handshake_step(enclos_tls_conn *c, int *want);
/**
 * Non-blocking read: ENCLOS_OK with *got > 0; ENCLOS_E_AGAIN (\p want set);
 * ENCLOS_E_CLOSED at end of stream; ENCLOS_E_IO / _PROTOCOL on errors.
 */
ENCLOS_MUST_USE enclos_err enclos_tls_read_nb(enclos_tls_conn *c, void *buf, size_t size, size_t *got,
                                              int *want);
/** Non-blocking write of up to \p size bytes: ENCLOS_OK with *wrote > 0; ENCLOS_E_AGAIN (\p want
 *  set; call again with the same bytes); ENCLOS_E_CLOSED / _IO. */
ENCLOS_MUST_USE enclos_err enclos_tls_write_nb(enclos_tls_conn *c, const void *buf, size_t size,
                                               size_t *wrote, int *want);
/** The SNI name the client sent, or NULL. */
const char *enclos_tls_server_name(enclos_tls_conn *c);
/** The certificate this side presented (a copy for the caller to free). */
ENCLOS_MUST_USE enclos_err enclos_tls_own_cert(enclos_tls_conn *c, enclos_x509 **out);
/** Sends close_notify without waiting for the peer's (best effort, non-blocking). */
void enclos_tls_shutdown_nb(enclos_tls_conn *c);

#ifdef __cplusplus
}
#endif
#endif
