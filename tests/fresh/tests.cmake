# tests/fresh — a newcomer's first run: the README's two commands on a clean Debian 12 root
# (label `fresh`: root, network to the Debian archive, about 15 min and 10 GB; neither CI nor
# scripts/test.sh runs it).
add_test(NAME fresh.readme_commands
         COMMAND ${CMAKE_SOURCE_DIR}/scripts/fresh-check.sh --dir ${CMAKE_BINARY_DIR}/fresh-check)
set_tests_properties(fresh.readme_commands PROPERTIES LABELS fresh TIMEOUT 7200 RUN_SERIAL ON)
