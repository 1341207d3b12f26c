enclos_fuzz(wasi_path SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_wasi_path.c DEPS enclos_wasi)
