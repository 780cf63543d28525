# asan_build.cmake — configures and builds edgecc with -DEC_SANITIZE=ON (ASan + UBSan) into BIN,
# once; later runs only rebuild what changed. Run with cmake -P (a ctest fixture).
foreach(v SRC BIN GENERATOR CC)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "asan_build.cmake needs -D${v}=...")
  endif()
endforeach()
if(NOT EXISTS ${BIN}/CMakeCache.txt)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -G ${GENERATOR}
                          -DCMAKE_C_COMPILER=${CC} -DEC_SANITIZE=ON -DBUILD_TESTING=OFF
                          -DCMAKE_BUILD_TYPE=RelWithDebInfo
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring the sanitizer build in ${BIN} failed (${rc})")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN} --target edgecc -j 2 RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the sanitizer edgecc in ${BIN} failed (${rc})")
endif()
