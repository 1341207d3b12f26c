# server: HTTP/1.1 parser (whole vs split inputs) and JWT/JWKS parsing.
enclos_fuzz(http SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_http.c DEPS enclos_server)
enclos_fuzz(jwt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_jwt.c DEPS enclos_server)
