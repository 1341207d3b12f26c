enclos_fuzz(claims SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_claims.c DEPS enclos_attest)
enclos_fuzz(certev SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_certev.c DEPS enclos_ratls)
target_compile_definitions(fuzz_certev PRIVATE ENCLOS_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
