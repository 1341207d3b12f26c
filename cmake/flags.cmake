# Compiler flags: the STYLE.md warning baseline, sanitizers, release optimisation.
set(ENCLOS_WARNINGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings
  -Wcast-qual -Wconversion -Wformat-security -Wformat=2 -Wvla -Wimplicit-fallthrough
  -Wno-unused-parameter)
if(ENCLOS_WERROR)
  list(APPEND ENCLOS_WARNINGS -Werror)
endif()

set(ENCLOS_COMMON_FLAGS -fno-strict-aliasing -fstack-protector-strong -D_GNU_SOURCE)
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  list(APPEND ENCLOS_COMMON_FLAGS -D_FORTIFY_SOURCE=2)
endif()
set(CMAKE_C_FLAGS_RELEASE "-O2 -DNDEBUG")
set(CMAKE_C_FLAGS_RELWITHDEBINFO "-O2 -g -DNDEBUG")
set(CMAKE_C_FLAGS_DEBUG "-O1 -g")

if(ENCLOS_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ENCLOS_FUZZ needs clang (CC=clang)")
  endif()
  set(ENCLOS_SANITIZE ON)
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_compile_definitions(ENCLOS_FUZZING=1)
endif()

if(ENCLOS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(ENCLOS_SANITIZED=1)
endif()

# Applied per target so that third-party headers never see -Werror.
function(enclos_target_flags t)
  target_compile_options(${t} PRIVATE ${ENCLOS_WARNINGS} ${ENCLOS_COMMON_FLAGS})
endfunction()
