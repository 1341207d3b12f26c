# enclos_module(NAME SOURCES ... DEPS ...): one static library per src/<NAME>/ directory.
# Public headers live in include/enclos/; the module's private headers sit beside its sources.
function(enclos_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(enclos_${name} STATIC ${M_SOURCES})
  target_include_directories(enclos_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(enclos_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  enclos_target_flags(enclos_${name})
endfunction()

# enclos_test(NAME SOURCES ... DEPS ...): one test binary per module on tests/test.h.
# Each test function runs in its own child process (see tests/test_main.c).
function(enclos_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;DEPS;ARGS" ${ARGN})
  add_executable(test_${name} ${T_SOURCES} ${PROJECT_SOURCE_DIR}/tests/test_main.c)
  target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(test_${name} PRIVATE ${T_DEPS})
  target_compile_definitions(test_${name} PRIVATE
    ENCLOS_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
    ENCLOS_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    ENCLOS_BINARY_DIR="${PROJECT_BINARY_DIR}")
  enclos_target_flags(test_${name})
  add_test(NAME ${name} COMMAND test_${name} ${T_ARGS})
  if(T_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()

# enclos_fuzz(NAME SOURCES ... DEPS ...): a libFuzzer target with a checked-in corpus in fuzz/corpus/NAME.
function(enclos_fuzz name)
  cmake_parse_arguments(F "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(fuzz_${name} ${F_SOURCES})
  target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(fuzz_${name} PRIVATE ${F_DEPS})
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  enclos_target_flags(fuzz_${name})
endfunction()
