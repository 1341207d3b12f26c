/* tls.c: TLS 1.3 connections for RA-TLS on OpenSSL (RFC 8446). Blocking sockets; the
 * caller owns the file descriptor. Exporters: RFC 8446 §7.5 (SSL_export_keying_material). */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <enclos/mem.h>
#include <enclos/tls.h>

#include "crypto_int.h"

struct enclos_tls_ctx {
  SSL_CTX *ctx;
  _Atomic int refs;
  enclos_tls_sni_fn sni_fn;
  void *sni_arg;
};

struct enclos_tls_conn {
  SSL *ssl;
};

static enclos_err new_ctx(const SSL_METHOD *m, enclos_tls_ctx **out) {
  enclos_tls_ctx *c = enclos_calloc(1, sizeof(*c));
  ENCLOS_ENSURE(c != NULL, ENCLOS_E_NOMEM);
  c->refs = 1;
  c->ctx = SSL_CTX_new(m);
  if (!c->ctx || SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION) != 1) {
    enclos_tls_ctx_free(c);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "SSL_CTX_new");
  }
  *out = c;
  return ENCLOS_OK;
}

enclos_err enclos_tls_server_ctx(const enclos_pkey *key, enclos_x509 *const *chain, size_t n,
                                 enclos_tls_ctx **out) {
  ENCLOS_ENSURE_REF(key);
  ENCLOS_ENSUREF(n >= 1 && n <= ENCLOS_X509_MAX_CHAIN, ENCLOS_E_INVAL, "chain of %zu", n);
  enclos_tls_ctx *c;
  ENCLOS_TRY(new_ctx(TLS_server_method(), &c));
  enclos_err rc = ENCLOS_OK;
  ENCLOS_GUARD_ENSUREF(SSL_CTX_use_certificate(c->ctx, chain[0]->x509) == 1, ENCLOS_E_CRYPTO, "certificate");
  for (size_t i = 1; i < n; i++)
    ENCLOS_GUARD_ENSUREF(SSL_CTX_add1_chain_cert(c->ctx, chain[i]->x509) == 1, ENCLOS_E_CRYPTO, "chain");
  ENCLOS_GUARD_ENSUREF(SSL_CTX_use_PrivateKey(c->ctx, key->pkey) == 1 && SSL_CTX_check_private_key(c->ctx) == 1,
                       ENCLOS_E_CRYPTO, "private key does not match the certificate");
  *out = c;
  return ENCLOS_OK;
cleanup:
  ERR_clear_error();
  enclos_tls_ctx_free(c);
  return rc;
}

enclos_err enclos_tls_client_ctx(enclos_tls_ctx **out) {
  ENCLOS_TRY(new_ctx(TLS_client_method(), out));
  /* The RA-TLS verifier checks the chain after the handshake (see tls.h). */
  SSL_CTX_set_verify((*out)->ctx, SSL_VERIFY_NONE, NULL);
  return ENCLOS_OK;
}

enclos_tls_ctx *enclos_tls_ctx_ref(enclos_tls_ctx *c) {
  if (c) c->refs++;
  return c;
}

void enclos_tls_ctx_free(enclos_tls_ctx *c) {
  if (!c || --c->refs > 0) return;
  SSL_CTX_free(c->ctx);
  enclos_free(c);
}

static enclos_err handshake(enclos_tls_ctx *ctx, int fd, const char *sni, bool server, enclos_tls_conn **out) {
  ENCLOS_ENSURE_REF(ctx);
  enclos_tls_conn *c = enclos_calloc(1, sizeof(*c));
  ENCLOS_ENSURE(c != NULL, ENCLOS_E_NOMEM);
  enclos_err rc = ENCLOS_OK;
  c->ssl = SSL_new(ctx->ctx);
  ENCLOS_GUARD_ENSUREF(c->ssl && SSL_set_fd(c->ssl, fd) == 1, ENCLOS_E_CRYPTO, "SSL_new");
  if (sni) {
    char host[256]; /* the OpenSSL macro casts away const */
    ENCLOS_GUARD_ENSUREF(strlen(sni) < sizeof(host), ENCLOS_E_INVAL, "SNI name too long");
    memcpy(host, sni, strlen(sni) + 1);
    ENCLOS_GUARD_ENSUREF(SSL_set_tlsext_host_name(c->ssl, host) == 1, ENCLOS_E_INVAL, "SNI %s", sni);
  }
  int r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
  if (r != 1) {
    unsigned long e = ERR_peek_error();
    char msg[256] = "connection closed";
    if (e) ERR_error_string_n(e, msg, sizeof(msg));
    ERR_clear_error();
    ENCLOS_GUARD_FAILF(ENCLOS_E_PROTOCOL, "TLS handshake failed: %s", msg);
  }
  *out = c;
  return ENCLOS_OK;
cleanup:
  enclos_tls_conn_free(c);
  return rc;
}

enclos_err enclos_tls_accept(enclos_tls_ctx *ctx, int fd, enclos_tls_conn **out) {
  return handshake(ctx, fd, NULL, true, out);
}

enclos_err enclos_tls_connect(enclos_tls_ctx *ctx, int fd, const char *sni, enclos_tls_conn **out) {
  return handshake(ctx, fd, sni, false, out);
}

void enclos_tls_conn_free(enclos_tls_conn *c) {
  if (!c) return;
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  ERR_clear_error();
  enclos_free(c);
}

enclos_err enclos_tls_peer_chain(enclos_tls_conn *c, enclos_x509 ***out, size_t *n) {
  STACK_OF(X509) *sk = SSL_get_peer_cert_chain(c->ssl);
  ENCLOS_ENSUREF(sk != NULL && sk_X509_num(sk) > 0, ENCLOS_E_VERIFY, "peer sent no certificate");
  int count = sk_X509_num(sk);
  ENCLOS_ENSUREF(count <= ENCLOS_X509_MAX_CHAIN, ENCLOS_E_LIMIT, "peer chain of %d certificates", count);
  enclos_x509 **list = enclos_calloc((size_t)count, sizeof(*list));
  ENCLOS_ENSURE(list != NULL, ENCLOS_E_NOMEM);
  for (int i = 0; i < count; i++) {
    unsigned char *der = NULL;
    int len = i2d_X509(sk_X509_value(sk, i), &der);
    enclos_err rc = len > 0 ? enclos_x509_from_der(der, (size_t)len, &list[i]) : ENCLOS_E_CRYPTO;
    OPENSSL_free(der);
    if (rc != ENCLOS_OK) {
      enclos_x509_list_free(list, (size_t)i);
      ENCLOS_FAILF(rc, "peer certificate %d does not parse", i);
    }
  }
  *out = list;
  *n = (size_t)count;
  return ENCLOS_OK;
}

enclos_err enclos_tls_exporter(enclos_tls_conn *c, const char *label, uint8_t *out, size_t size) {
  int r = SSL_export_keying_material(c->ssl, out, size, label, strlen(label), NULL, 0, 0);
  CRYPTO_ENSURE(r == 1, ENCLOS_E_CRYPTO, "SSL_export_keying_material");
  return ENCLOS_OK;
}

enclos_err enclos_tls_read(enclos_tls_conn *c, void *buf, size_t size, size_t *got) {
  size_t n = 0;
  int r = SSL_read_ex(c->ssl, buf, size, &n);
  if (r == 1) {
    *got = n;
    return ENCLOS_OK;
  }
  int e = SSL_get_error(c->ssl, r);
  ERR_clear_error();
  if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) {
    *got = 0;
    return ENCLOS_OK;
  }
  ENCLOS_FAILF(ENCLOS_E_IO, "TLS read failed (SSL error %d)", e);
}

enclos_err enclos_tls_write(enclos_tls_conn *c, const void *buf, size_t size) {
  size_t n = 0;
  int r = size ? SSL_write_ex(c->ssl, buf, size, &n) : 1;
  ERR_clear_error();
  ENCLOS_ENSUREF(r == 1 && n == size, ENCLOS_E_IO, "TLS write failed");
  return ENCLOS_OK;
}

/* ---- Non-blocking server side ------------------------------------------------------------ */

/* RFC 6066 §3: runs inside the ClientHello processing; switching the SSL_CTX switches the
 * certificate and key presented. The SSL takes its own reference on the new SSL_CTX. */
static int sni_cb(SSL *ssl, int *alert, void *arg) {
  (void)alert;
  enclos_tls_ctx *base = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  enclos_tls_ctx *sel = base->sni_fn(base->sni_arg, name);
  if (sel) {
    if (sel->ctx != SSL_get_SSL_CTX(ssl)) (void)SSL_set_SSL_CTX(ssl, sel->ctx);
    enclos_tls_ctx_free(sel);
  }
  return SSL_TLSEXT_ERR_OK;
}

void enclos_tls_ctx_set_sni(enclos_tls_ctx *ctx, enclos_tls_sni_fn fn, void *arg) {
  ctx->sni_fn = fn;
  ctx->sni_arg = arg;
  /* The OpenSSL macro's callback type is a generic pointer; this is the documented form. */
  (void)SSL_CTX_callback_ctrl(ctx->ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                              fn ? (void (*)(void))sni_cb : NULL);
  SSL_CTX_set_tlsext_servername_arg(ctx->ctx, ctx);
}

enclos_err enclos_tls_server_conn(enclos_tls_ctx *ctx, int fd, enclos_tls_conn **out) {
  ENCLOS_ENSURE_REF(ctx);
  enclos_tls_conn *c = enclos_calloc(1, sizeof(*c));
  ENCLOS_ENSURE(c != NULL, ENCLOS_E_NOMEM);
  c->ssl = SSL_new(ctx->ctx);
  if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
    enclos_tls_conn_free(c);
    CRYPTO_FAIL(ENCLOS_E_CRYPTO, "SSL_new");
  }
  /* Partial writes let the event loop send what the socket takes; the moving-buffer mode lets
   * the caller retry from a buffer that was reallocated meanwhile. Idle connections give
   * their read/write buffers back (many keep-alive connections). */
  SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                           SSL_MODE_RELEASE_BUFFERS);
  SSL_set_accept_state(c->ssl);
  *out = c;
  return ENCLOS_OK;
}

/* Maps an SSL_get_error verdict: AGAIN with \p want, CLOSED, or an error naming the cause. */
static enclos_err nb_result(enclos_tls_conn *c, int r, int *want, const char *what) {
  int e = SSL_get_error(c->ssl, r);
  *want = 0;
  if (e == SSL_ERROR_WANT_READ) {
    *want = ENCLOS_TLS_WANT_READ;
    return ENCLOS_E_AGAIN;
  }
  if (e == SSL_ERROR_WANT_WRITE) {
    *want = ENCLOS_TLS_WANT_WRITE;
    return ENCLOS_E_AGAIN;
  }
  unsigned long q = ERR_peek_error();
  char msg[256] = "connection closed by peer";
  if (q) ERR_error_string_n(q, msg, sizeof(msg));
  ERR_clear_error();
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !q))
    ENCLOS_FAILF(ENCLOS_E_CLOSED, "TLS %s: %s", what, msg);
  ENCLOS_FAILF(e == SSL_ERROR_SSL ? ENCLOS_E_PROTOCOL : ENCLOS_E_IO, "TLS %s failed: %s", what, msg);
}

enclos_err enclos_tls_handshake_step(enclos_tls_conn *c, int *want) {
  int r = SSL_do_handshake(c->ssl);
  *want = 0;
  if (r == 1) return ENCLOS_OK;
  return nb_result(c, r, want, "handshake");
}

enclos_err enclos_tls_read_nb(enclos_tls_conn *c, void *buf, size_t size, size_t *got, int *want) {
  size_t n = 0;
  *got = 0;
  *want = 0;
  int r = SSL_read_ex(c->ssl, buf, size, &n);
  if (r == 1) {
    *got = n;
    return ENCLOS_OK;
  }
  return nb_result(c, r, want, "read");
}

enclos_err enclos_tls_write_nb(enclos_tls_conn *c, const void *buf, size_t size, size_t *wrote,
                               int *want) {
  size_t n = 0;
  *wrote = 0;
  *want = 0;
  if (size == 0) return ENCLOS_OK;
  int r = SSL_write_ex(c->ssl, buf, size, &n);
  if (r == 1) {
    *wrote = n;
    return ENCLOS_OK;
  }
  return nb_result(c, r, want, "write");
}

const char *enclos_tls_server_name(enclos_tls_conn *c) {
  return SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
}

enclos_err enclos_tls_own_cert(enclos_tls_conn *c, enclos_x509 **out) {
  X509 *x = SSL_get_certificate(c->ssl);
  ENCLOS_ENSUREF(x != NULL, ENCLOS_E_STATE, "no certificate on this connection");
  unsigned char *der = NULL;
  int len = i2d_X509(x, &der);
  CRYPTO_ENSURE(len > 0, ENCLOS_E_CRYPTO, "i2d_X509");
  enclos_err rc = enclos_x509_from_der(der, (size_t)len, out);
  OPENSSL_free(der);
  return rc;
}

void enclos_tls_shutdown_nb(enclos_tls_conn *c) {
  if (!c || !c->ssl) return;
  (void)SSL_shutdown(c->ssl);
  ERR_clear_error();
}
