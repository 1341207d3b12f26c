enclos_fuzz(store SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_store.c DEPS enclos_store)
