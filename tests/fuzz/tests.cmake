# tests/fuzz — libFuzzer targets over the frontend and the runtime's frame reader. The normal
# build only registers a ctest that makes a clang sub-build (EC_FUZZ_BUILD=ON, ASan + UBSan +
# fuzzer coverage) under ${CMAKE_BINARY_DIR}/fuzz and runs each target over the seed corpus plus a
# bounded number of mutations. Inside that sub-build this file defines the fuzz executables instead.
option(EC_FUZZ_BUILD "Build the libFuzzer targets (needs clang; set by the fuzz ctest)" OFF)
if(EC_FUZZ_BUILD)
  foreach(t load tensor)
    add_executable(fuzz_${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${t}.c)
    target_link_libraries(fuzz_${t} PRIVATE ec_compiler)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  endforeach()
  # The runtime's streaming frame reader, fed over a socketpair (tests/distributed/wire_pair.h).
  add_executable(fuzz_wire ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_wire.c)
  target_include_directories(fuzz_wire PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/distributed)
  target_link_libraries(fuzz_wire PRIVATE ecrt)
  target_link_options(fuzz_wire PRIVATE -fsanitize=fuzzer)
  return()
endif()

find_program(EC_CLANG NAMES clang clang-14)
if(NOT EC_CLANG)
  message(WARNING "the fuzz test needs clang and libFuzzer: install the Debian packages clang and libclang-rt-14-dev")
else()
  set(EC_FUZZ_RUNS 150000 CACHE STRING "mutations per fuzz target in the fuzz ctest")
  add_test(NAME unit_fuzz
           COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DBIN=${CMAKE_BINARY_DIR}/fuzz
                   -DGENERATOR=${CMAKE_GENERATOR} -DCLANG=${EC_CLANG} -DRUNS=${EC_FUZZ_RUNS}
                   -DSEED=1234 -P ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzz.cmake)
  set_tests_properties(unit_fuzz PROPERTIES LABELS unit TIMEOUT 1200)
endif()
