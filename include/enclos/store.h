/**
 * \file store.h
 * \brief The sealed store: an encrypted, tamper-evident, crash-safe key-value store on LMDB
 *        with a system table and per-app tables (ARCHITECTURE.md §6, issue 7).
 *
 * Layout on disk (directory \p dir given to enclos_store_open):
 * - `store.mdb`, `store.mdb-lock`: one LMDB environment, one unnamed database. The host sees only
 *   LMDB keys of the form tag(8) ‖ HMAC-SHA256(k_index(table), table ‖ key) and opaque records.
 * - `store.anchor`: the rollback anchor (version + set digest + MAC), written atomically after
 *   each commit (temp file, fsync, rename, fsync dir).
 * - `sim-sealing.secret`: only with the stand-in key enclos_store_sim_seal_key (tests).
 *
 * Guarantees, what they cost and what they do not cover: docs/store.md.
 *
 * Cryptography: a random 32-byte store master key is wrapped (AES-256-GCM) under the caller's
 * sealing key in the header record. Subkeys come from HKDF-SHA256 over the master key, per
 * purpose and per table. Each app table has its own random master key, wrapped under the store
 * master key; enclos_store_app_drop deletes that wrapped key first, which crypto-erases the app's
 * records even if deleting them is interrupted. Values are AES-256-GCM with a fresh random
 * 96-bit IV per write and AAD binding (table, LMDB key, record version), so a ciphertext moved
 * to another key, table or version fails with ENCLOS_E_TAMPERED. The plaintext key is encrypted
 * inside the same record, so listing works without revealing names to the host.
 *
 * Tamper and rollback evidence: every write transaction increments the store version and updates
 * a keyed set digest (XOR of HMACs over each live record's LMDB key, version and GCM tag). Open
 * recomputes the set digest (one HMAC per record, no decryption) and compares it with the MAC'd
 * state record, so a replayed old record, a swapped or deleted record is refused
 * (ENCLOS_E_TAMPERED); a whole database older than the anchor is refused (ENCLOS_E_ROLLBACK).
 * The same scan fills a record index in (TEE) memory: per live record its key fingerprint,
 * version and GCM tag prefix (32 bytes per slot, at most 3/4 full). Every read, and every
 * overwrite or delete, checks the record LMDB returns against it, so a replayed older record,
 * a restored deleted record or a removed record is refused on the read that meets it
 * (ENCLOS_E_TAMPERED), not only at the next open. Reads in a snapshot older than the last
 * commit check only the keys unchanged since the snapshot. enclos_store_verify() repeats the
 * full scan and compares it with the index. One store handle per directory: another writer
 * makes this handle's reads fail as tampered.
 *
 * Crash window: LMDB commits first (durable, fsync), then the anchor is replaced. A crash
 * in between leaves the database exactly one version ahead of the anchor; open accepts that
 * (and re-writes the anchor), so an acknowledged write is never refused. The price: an attacker
 * who controls the disk can roll back at most the last transaction. If the anchor write fails
 * after a commit, the store turns read-only (ENCLOS_E_STATE) until reopened, so the database
 * can never get more than one version ahead of the anchor.
 *
 * Threads: a store handle is used by one thread at a time.
 *
 * Cost (scripts/bench-store, figures in bench/README.md): a get costs one HMAC-SHA256 of the key
 * (precomputed pads), one index probe and one AES-256-GCM pass that decrypts the value straight
 * into the caller's buffer (no allocation once it has grown), on top of the LMDB lookup. Large
 * values are bound by AES-GCM throughput (OpenSSL 3.0). Each write adds two HMACs (set digest)
 * and, per commit, an anchor replace (two fsyncs): batch writes.
 *
 * Write transactions: an operation that fails after changing the transaction (LMDB map full,
 * I/O) marks it failed, and its commit then aborts it (ENCLOS_E_STATE); refusals decided before
 * any change (quota, limits, not found) leave it usable.
 *
 * App-facing API: enclos_store_kv_* are the functions the `enclos` import module's kv host
 * functions (kv_get/kv_put/kv_delete/kv_list) will call once the WASI host-function registration
 * exists: the host function copies the guest's (ptr, len) arguments out of linear memory, calls
 * the kv function on the calling app's table handle (obtained at app load with
 * enclos_store_app_table), and copies results back; an app can only name keys in its own table.
 * The WASI preopened `/data` directory will map paths to keys of the same table.
 */
#ifndef ENCLOS_STORE_H
#define ENCLOS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <enclos/buf.h>
#include <enclos/error.h>
#include <enclos/tee.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest key in bytes. */
#define ENCLOS_STORE_MAX_KEY 1024
/** Default largest value in bytes (configurable up to ENCLOS_STORE_MAX_VALUE_CEILING). */
#define ENCLOS_STORE_DEFAULT_MAX_VALUE ((size_t)16 << 20)
#define ENCLOS_STORE_MAX_VALUE_CEILING ((size_t)256 << 20)
/** Default LMDB map size (the largest the database file may grow). */
#define ENCLOS_STORE_DEFAULT_MAP_SIZE ((size_t)1 << 30)
/** Table names: 1..64 characters from [a-z0-9._-], starting with a letter or digit. */
#define ENCLOS_STORE_MAX_TABLE_NAME 64
/** The name of the system table (always present). */
#define ENCLOS_STORE_SYSTEM "system"

/**
 * Supplies the 32-byte sealing key that wraps the store master key. The TEE backend provides
 * the real one (src/tee); enclos_store_sim_seal_key is the stand-in for tests and `sim`.
 */
typedef enclos_err (*enclos_store_seal_key_fn)(void *ctx, uint8_t key[32]);

/**
 * The sim sealing key: HKDF-SHA256 over a per-machine secret file `<ctx>/sim-sealing.secret`
 * (32 random bytes, created on first use). \p ctx is the directory (const char *). This key
 * lives on the untrusted disk: it gives no protection against the host, only the same code
 * paths as a real TEE.
 */
ENCLOS_MUST_USE enclos_err enclos_store_sim_seal_key(void *ctx, uint8_t key[32]);

typedef struct enclos_store_opts {
  enclos_store_seal_key_fn seal_key; /**< required */
  void *seal_ctx;
  size_t map_size;  /**< 0: ENCLOS_STORE_DEFAULT_MAP_SIZE */
  size_t max_value; /**< 0: ENCLOS_STORE_DEFAULT_MAX_VALUE */
  bool create;      /**< create the store when the directory holds none */
  /** Skip the full set-digest scan at open (tests). Also leaves the record index off, so reads
   *  no longer catch a replayed record (enclos_store_status says so). */
  bool skip_verify;
  /** Whether the anchor sits in trusted monotonic storage. No backend offers one yet: false. */
  bool trusted_anchor;
  /** Where the sealing key comes from, for status reports (e.g. "sim", "sgx"); NULL: "caller". */
  const char *seal_source;
} enclos_store_opts;

/**
 * The sealing key of a TEE backend as a store key provider: \p ctx is the enclos_tee *.
 * Same key as enclos_tee_sealing_key (sim: the sim backend's key, bound to the measured binary;
 * sgx: Gramine's MRENCLAVE-bound key; sev-snp: the VMPCK-derived key from /dev/sev-guest).
 */
ENCLOS_MUST_USE enclos_err enclos_store_tee_seal_key(void *ctx, uint8_t key[32]);

/**
 * Fills the key provider fields of \p opts (seal_key, seal_ctx, seal_source, trusted_anchor)
 * for backend \p tee, which must outlive the store's open and any key rotation. Fails loudly
 * (ENCLOS_E_UNSUPPORTED) where the backend has no sealing key: TDX has none in hardware, and the
 * store's keys must then come from a peer TEE's key vault over mutual RA-TLS, which is not
 * built yet; there is deliberately no weaker fallback. SEV-SNP without /dev/sev-guest fails
 * the same way. The key is fetched once here to fail early; open fetches it again.
 */
ENCLOS_MUST_USE enclos_err enclos_store_opts_for_tee(enclos_tee *tee, enclos_store_opts *opts);

typedef struct enclos_store enclos_store;
typedef struct enclos_store_table enclos_store_table;
typedef struct enclos_store_txn enclos_store_txn;

/**
 * Opens (or with opts->create, creates) the store in directory \p dir (which must exist).
 * Errors: ENCLOS_E_NOT_FOUND (no store and !create), ENCLOS_E_AUTH (wrong sealing key),
 * ENCLOS_E_TAMPERED (header, state or records fail authentication), ENCLOS_E_ROLLBACK
 * (database older than the anchor), ENCLOS_E_IO. Free with enclos_store_close.
 */
ENCLOS_MUST_USE enclos_err enclos_store_open(const char *dir, const enclos_store_opts *opts,
                                             enclos_store **out);
/** Closes the store. Finish (commit/abort) its transactions first. NULL is fine. */
void enclos_store_close(enclos_store *s);

/** Status, e.g. for `enclos status`. */
typedef struct enclos_store_status {
  uint64_t version;        /**< committed store version */
  uint64_t anchor_version; /**< version recorded in the anchor */
  bool trusted_monotonic;  /**< false: the anchor is on the untrusted disk (every backend today) */
  const char *anchor_note; /**< human-readable explanation of the rollback protection */
  bool read_only;          /**< true after an anchor write failed */
  bool record_index;       /**< reads check each record against the trusted index */
  uint64_t records;        /**< live records (header/state excluded); 0 if the index is off */
  size_t apps_loaded;      /**< app tables with an open handle */
} enclos_store_status;
void enclos_store_status_get(const enclos_store *s, enclos_store_status *out);

/**
 * A human-readable multi-line status report (appended to \p out): directory, versions, sealing
 * key source, what rollback and replay protection holds and what does not (in particular when
 * the backend offers no trusted monotonic state), and whether the store is read-only. What
 * `enclos store status --data DIR` prints.
 */
ENCLOS_MUST_USE enclos_err enclos_store_status_text(const enclos_store *s, enclos_buf *out);

/** Re-runs the full set-digest check that open does (O(records)). */
ENCLOS_MUST_USE enclos_err enclos_store_verify(enclos_store *s);

/** Re-wraps the master key under the key from \p seal_key (no data is rewritten). */
ENCLOS_MUST_USE enclos_err enclos_store_rotate_seal_key(enclos_store *s,
                                                        enclos_store_seal_key_fn seal_key,
                                                        void *seal_ctx);

/* ---- Tables ------------------------------------------------------------------------ */

/** The system table. The handle belongs to the store (do not free). */
ENCLOS_MUST_USE enclos_err enclos_store_system(enclos_store *s, enclos_store_table **out);
/** Creates app table \p app with a fresh app master key; \p quota_bytes 0 = unlimited.
 *  ENCLOS_E_EXISTS if present, ENCLOS_E_INVALID for a bad name. */
ENCLOS_MUST_USE enclos_err enclos_store_app_create(enclos_store *s, const char *app,
                                                   uint64_t quota_bytes);
/** The table of app \p app (ENCLOS_E_NOT_FOUND if absent). The handle belongs to the store and
 *  stays valid until the app is dropped or the store closed. */
ENCLOS_MUST_USE enclos_err enclos_store_app_table(enclos_store *s, const char *app,
                                                  enclos_store_table **out);
/** Drops app \p app: deletes its wrapped key (crypto-erase) and its records in one transaction. */
ENCLOS_MUST_USE enclos_err enclos_store_app_drop(enclos_store *s, const char *app);
/** Bytes accounted to the table (keys + values of live records) and its quota (0 = none). */
ENCLOS_MUST_USE enclos_err enclos_store_table_usage(enclos_store *s, enclos_store_table *t,
                                                    uint64_t *used, uint64_t *quota);

/* ---- Transactions ------------------------------------------------------------------ */

/**
 * Begins a write batch (\p write, one LMDB write transaction: all or nothing) or a read snapshot.
 * Only one write transaction at a time. Finish with enclos_store_commit or enclos_store_abort.
 */
ENCLOS_MUST_USE enclos_err enclos_store_begin(enclos_store *s, bool write, enclos_store_txn **out);
/** Commits (write) or ends (read) the transaction and frees it, also on error. */
ENCLOS_MUST_USE enclos_err enclos_store_commit(enclos_store_txn *txn);
/** Discards the transaction and frees it. NULL is fine. */
void enclos_store_abort(enclos_store_txn *txn);

/* ---- Records: \p txn NULL runs the operation in its own transaction ------------------ */

/** Replaces \p out's contents with the value. ENCLOS_E_NOT_FOUND if absent. */
ENCLOS_MUST_USE enclos_err enclos_store_get(enclos_store *s, enclos_store_txn *txn,
                                            enclos_store_table *t, const void *key,
                                            size_t key_size, enclos_buf *out);
ENCLOS_MUST_USE enclos_err enclos_store_put(enclos_store *s, enclos_store_txn *txn,
                                            enclos_store_table *t, const void *key,
                                            size_t key_size, const void *value, size_t value_size);
/** ENCLOS_E_NOT_FOUND if absent. */
ENCLOS_MUST_USE enclos_err enclos_store_delete(enclos_store *s, enclos_store_txn *txn,
                                               enclos_store_table *t, const void *key,
                                               size_t key_size);

/** Called per record in ascending (bytewise) key order; return non-OK to stop (it is returned). */
typedef enclos_err (*enclos_store_list_fn)(void *ctx, const uint8_t *key, size_t key_size,
                                           const uint8_t *value, size_t value_size);
/**
 * Lists records whose plaintext key starts with \p prefix, in key order. Cost: keys are HMACs,
 * so the whole table is scanned and every record decrypted (O(records in table)) and matches
 * are sorted in memory — use prefixes on small tables or keep an index record.
 * At most ENCLOS_STORE_MAX_LIST records (ENCLOS_E_LIMIT beyond).
 */
#define ENCLOS_STORE_MAX_LIST 1000000
ENCLOS_MUST_USE enclos_err enclos_store_list(enclos_store *s, enclos_store_txn *txn,
                                             enclos_store_table *t, const void *prefix,
                                             size_t prefix_size, enclos_store_list_fn fn,
                                             void *ctx);

/* ---- App-facing kv (the future `enclos` kv host functions; see the file comment) ------- */

ENCLOS_MUST_USE enclos_err enclos_store_kv_get(enclos_store *s, enclos_store_table *app_table,
                                               const void *key, size_t key_size, enclos_buf *out);
ENCLOS_MUST_USE enclos_err enclos_store_kv_put(enclos_store *s, enclos_store_table *app_table,
                                               const void *key, size_t key_size,
                                               const void *value, size_t value_size);
ENCLOS_MUST_USE enclos_err enclos_store_kv_delete(enclos_store *s, enclos_store_table *app_table,
                                                  const void *key, size_t key_size);
ENCLOS_MUST_USE enclos_err enclos_store_kv_list(enclos_store *s, enclos_store_table *app_table,
                                                const void *prefix, size_t prefix_size,
                                                enclos_store_list_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
