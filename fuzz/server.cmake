# server: HTTP/1.1 parser (whole vs split inputs) and JWT/JWKS parsing.
enclos_fuzz(http SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_http.c DEPS enclos_server)
enclos_fuzz(jwt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_jwt.c DEPS enclos_server)
# `enclos serve` manifests and configuration files (JSON from deployers and operators).
if(ENCLOS_HAVE_SERVE)
  enclos_fuzz(server_config SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_server_config.c DEPS enclos_server)
  target_include_directories(fuzz_server_config PRIVATE ${PROJECT_SOURCE_DIR}/src/server)
endif()
