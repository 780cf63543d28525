# expect.cmake — runs a command and checks its exit status and that its output matches a regex.
#   cmake "-DCMD=a;b;c" -DRC=1 "-DREGEX=..." -P expect.cmake
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL RC)
  message(FATAL_ERROR "exit status ${rc}, expected ${RC}\n${out}${err}")
endif()
if(REGEX AND NOT "${out}${err}" MATCHES "${REGEX}")
  message(FATAL_ERROR "output does not match '${REGEX}':\n${out}${err}")
endif()
message(STATUS "${out}${err}")
