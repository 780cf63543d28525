# run_fuzz.cmake — builds the fuzz targets with clang in BIN/build (once; later runs rebuild
# what changed) and runs each over a copy of its seed corpus for RUNS mutations with a fixed
# SEED. Any crash, sanitizer report, leak or timeout fails. Run with cmake -P.
foreach(v SRC BIN GENERATOR CLANG RUNS SEED)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzz.cmake needs -D${v}=...")
  endif()
endforeach()
set(build ${BIN}/build)
# clang 14 rejects __builtin_cpu_supports("sha") (compiler/ir/sha256.c); until that file asks
# cpuid itself, the fuzz build takes the portable SHA-256 path.
set(flags "-fsanitize=fuzzer-no-link -include ${SRC}/tests/fuzz/clang14_compat.h")
if(NOT EXISTS ${build}/CMakeCache.txt)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${build} -G ${GENERATOR}
                          -DCMAKE_C_COMPILER=${CLANG} -DEC_SANITIZE=ON -DEC_FUZZ_BUILD=ON
                          "-DCMAKE_C_FLAGS=${flags}" -DCMAKE_BUILD_TYPE=RelWithDebInfo
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring the fuzz build in ${build} failed (${rc})")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} --target fuzz_load fuzz_tensor fuzz_wire -j 2
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the fuzz targets failed (${rc})")
endif()
foreach(t load tensor wire)
  set(work ${BIN}/corpus_${t})
  file(REMOVE_RECURSE ${work})
  file(MAKE_DIRECTORY ${work})
  set(ENV{ASAN_OPTIONS} "detect_leaks=1:allocator_may_return_null=1")
  set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
  # New inputs go to the scratch corpus (first folder); the committed seeds are only read.
  execute_process(COMMAND ${build}/tests/fuzz_${t} ${work} ${SRC}/tests/fuzz/corpus/${t}
                          -runs=${RUNS} -seed=${SEED} -timeout=10 -rss_limit_mb=2048
                          -max_len=65536 -print_final_stats=1
                          -artifact_prefix=${BIN}/crash_${t}_
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "fuzz_${t} failed (exit ${rc}); the input is saved under ${BIN}/crash_${t}_*; "
                        "replay it with ${build}/tests/fuzz_${t} FILE")
  endif()
  message(STATUS "fuzz_${t}: ${RUNS} runs with seed ${SEED}, no failure")
endforeach()
