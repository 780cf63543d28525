# tests/diff — the differential harness "fast equals reference" (diff.py; docs/fast-kernels.md):
# seeded random graphs of every pattern lowering rewrites or fuses, compiled with each fast kernel
# family and with --kernels ref, built, run and compared (1e-4 of the largest reference value),
# with a check that each pattern ran on the fast kernel it should. Each test needs edgecc and the
# runtime and reference kernel libraries built once (build_generated.sh links against them).
set(EC_DIFF ${CMAKE_CURRENT_LIST_DIR}/diff.py)
set(EC_DIFF_ARGS --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR})

# The regression cases: the smallest graphs of the differences the harness found, as written.
add_test(NAME diff_regress COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --regress
                                   --work ${CMAKE_BINARY_DIR}/diff/regress)
set_tests_properties(diff_regress PROPERTIES LABELS unit TIMEOUT 600)
