enclos_fuzz(wasm SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_wasm.c DEPS enclos_wasm)
