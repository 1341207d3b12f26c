# Building wasm32-wasi guests (examples, WASI test programs) with Debian's clang + wasi-libc.
#   enclos_wasm_guest(<target-name> OUTPUT <file.wasm> SOURCES <c files...> [FLAGS ...])
# adds a custom command and an ALL target. ENCLOS_WASM_GUESTS is OFF (with a warning) when the
# compiler cannot target wasm32-wasi; callers then skip their guests.
# (No include_guard: variables set here are directory-scoped, so every includer needs them.)

find_program(ENCLOS_WASM_CC NAMES clang clang-14 DOC "clang able to target wasm32-wasi")
# -ftls-model=local-exec: clang 14 with -mbulk-memory otherwise stops with "only
# -ftls-model=local-exec is supported ... variable errno" (wasi-libc's errno is _Thread_local).
set(ENCLOS_WASM_FLAGS --target=wasm32-wasi -mbulk-memory -ftls-model=local-exec -O2
                      -Wl,--strip-debug)

if(NOT DEFINED ENCLOS_WASM_GUESTS)
  set(probe_dir ${CMAKE_BINARY_DIR}/wasm_probe)
  file(MAKE_DIRECTORY ${probe_dir})
  file(WRITE ${probe_dir}/probe.c "#include <stdio.h>\nint main(void){puts(\"ok\");return 0;}\n")
  set(ok OFF)
  if(ENCLOS_WASM_CC)
    execute_process(COMMAND ${ENCLOS_WASM_CC} ${ENCLOS_WASM_FLAGS} ${probe_dir}/probe.c
                            -o ${probe_dir}/probe.wasm
                    RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_QUIET)
    if(probe_rc EQUAL 0)
      set(ok ON)
    endif()
  endif()
  set(ENCLOS_WASM_GUESTS ${ok} CACHE BOOL "clang can build wasm32-wasi guests")
  if(NOT ok)
    message(WARNING "clang cannot target wasm32-wasi (install clang, lld, wasi-libc, "
                    "libclang-rt-14-dev-wasm32): examples and WASI guest tests are skipped")
  endif()
endif()

function(enclos_wasm_guest name)
  cmake_parse_arguments(G "" "OUTPUT" "SOURCES;FLAGS" ${ARGN})
  add_custom_command(
    OUTPUT ${G_OUTPUT}
    COMMAND ${ENCLOS_WASM_CC} ${ENCLOS_WASM_FLAGS} -I${PROJECT_SOURCE_DIR}/sdk/include
            ${G_FLAGS} ${G_SOURCES} -o ${G_OUTPUT}
    DEPENDS ${G_SOURCES} ${PROJECT_SOURCE_DIR}/sdk/include/enclos.h
    COMMENT "wasm32-wasi guest ${name}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${G_OUTPUT})
endfunction()
