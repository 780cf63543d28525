# tests/fresh — a newcomer's first run: the README's two commands on a clean Debian 12 root
# (label `fresh`: root, network to the Debian archive, time and disk in docs/fresh-check.md;
# neither CI nor scripts/test.sh runs it) and the demo that command 1 ends with (label `cross`: it runs the
# digits program under qemu too).
add_test(NAME fresh.readme_commands
         COMMAND ${CMAKE_SOURCE_DIR}/scripts/fresh-check.sh --dir ${CMAKE_BINARY_DIR}/fresh-check)
set_tests_properties(fresh.readme_commands PROPERTIES LABELS fresh TIMEOUT 10800 RUN_SERIAL ON)

add_test(NAME cross.demo_asserts
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fresh/demo_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}
                 ${CMAKE_BINARY_DIR}/demo-test ${EC_CROSS_SYSROOT})
set_tests_properties(cross.demo_asserts PROPERTIES LABELS cross TIMEOUT 900 FIXTURES_REQUIRED ec_sysroot)
