enclos_fuzz(verify_quote SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_verify_quote.c DEPS enclos_verify)
enclos_fuzz(verify_snp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_verify_snp.c DEPS enclos_verify)
enclos_fuzz(verify_coll SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_verify_coll.c DEPS enclos_verify)
