/* fuzz_server_config: the JSON documents `enclos serve` accepts from operators and deployers.
 * Mode byte 0: the rest is an app manifest (server__manifest_parse: policy, limits, config
 * entries, canonical form, configuration tree); 1: the rest is a configuration file
 * (server__config_parse). Either must accept or refuse with an error, never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enclos/mem.h>

#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *text = (const char *)data + 1;
  size_t n = size - 1;
  if (data[0] % 2 == 0) {
    srv_app a;
    memset(&a, 0, sizeof(a));
    memset(a.code_hash, 0xab, sizeof(a.code_hash));
    if (server__manifest_parse("fuzz", text, n, &a) == ENCLOS_OK) {
      /* The canonical form must parse again to the same configuration root. */
      srv_app b;
      memset(&b, 0, sizeof(b));
      memcpy(b.code_hash, a.code_hash, 32);
      if (server__manifest_parse("fuzz", a.manifest, a.manifest_len, &b) != ENCLOS_OK ||
          memcmp(a.config_root, b.config_root, 32) != 0)
        abort();
      enclos_config_free(b.tree);
      enclos_free(b.manifest);
    }
    enclos_config_free(a.tree);
    enclos_free(a.manifest);
  } else {
    enclos_server_config cfg;
    enclos_server_config_default(&cfg);
    enclos_server_config_file *h = NULL;
    if (server__config_parse(text, n, "fuzz", &cfg, &h) == ENCLOS_OK) enclos_server_config_file_free(h);
  }
  return 0;
}
