enclos_fuzz(app_call SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_app_call.c DEPS enclos_app PkgConfig::JANSSON)
enclos_fuzz(app_cgi SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_app_cgi.c DEPS enclos_app)
enclos_fuzz(app_kvpath SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_app_kvpath.c DEPS enclos_app)
