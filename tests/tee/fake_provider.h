/* fake_provider.h: a forked child that plays the kernel's (or Gramine's) part for the tdx,
 * sev-snp and sgx producers: it populates configfs-tsm entries and answers reads of outblob
 * (a FIFO, so the answer is produced when the producer reads, as configfs does) with a captured
 * real quote whose report-data field is patched to the request's inblob. */
#ifndef ENCLOS_TEST_FAKE_PROVIDER_H
#define ENCLOS_TEST_FAKE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fake_provider {
  const char *root;      /* tsm report dir or Gramine /dev/attestation dir */
  const char *provider;  /* "tdx_guest" / "sev_guest"; NULL for Gramine */
  const uint8_t *quote;  /* captured evidence */
  size_t quote_size;
  size_t rd_offset;      /* where the report data sits in it */
  int requests;          /* how many entries to serve before exiting */
  int probes;            /* the first `probes` entries only get populated (provider reads) */
  bool race;             /* bump generation while the producer reads outblob */
  bool wrong_rd;         /* do not patch the report data */
} fake_provider;

/* Starts the child; returns its pid. */
pid_t fake_provider_start(const fake_provider *fp);
/* Waits for the child; returns true if it exited cleanly. */
bool fake_provider_wait(pid_t pid);

#endif
