# tests/golden — the generated folder of the committed digits model for x86-64, checked in under
# tests/golden/digits: any change to generated code shows up here as a diff (label unit); the
# copied runtime and kernel sources are compared with the repository's files (check.sh). After a
# deliberate change: tests/golden/update.sh BUILD/edgecc, then review and commit the diff.
add_test(NAME golden.digits
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/golden/check.sh $<TARGET_FILE:edgecc> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/golden-check)
set_tests_properties(golden.digits PROPERTIES LABELS unit TIMEOUT 60)
# The same for examples/control/control.onnx (one If and one Loop: issue 17), made by its
# committed make_control.py.
add_test(NAME golden.control
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/golden/check.sh $<TARGET_FILE:edgecc> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/golden-check-control examples/control/control.onnx control)
set_tests_properties(golden.control PROPERTIES LABELS unit TIMEOUT 60)

# Reproducible output: two runs from different working directories, with different model and output
# paths (relative and absolute, a copy of the model elsewhere), over several devices including
# cross targets and a split plan, give byte-identical trees.
add_test(NAME golden.reproducible COMMAND sh -c
  "set -e; w=\"$2\"; rm -rf \"$w\"; mkdir -p \"$w/one\" \"$w/two/deeper/still\" \"$w/model-copy\"; \
   cp \"$3\" \"$w/model-copy/digits.onnx\"; \
   for args in '--targets a=host,b=pi5,c=orin-nano --partitions 3' '--targets pi5,orin-nano,pi4,x86-64' '--targets a=host,b=pi5 --split-at /pool_1/MaxPool_output_0 --kernels ref'; do \
     rm -rf \"$w/one/out\" \"$w/two/deeper/still/o2\"; \
     (cd \"$w/one\" && \"$1\" ../model-copy/digits.onnx $args -o out >/dev/null); \
     (cd \"$w/two\" && \"$1\" \"$3\" $args -o \"$w/two/deeper/still/o2\" >/dev/null); \
     diff -r \"$w/one/out\" \"$w/two/deeper/still/o2\"; \
     if grep -rlI -e \"$w\" -e \"$(dirname \"$3\")\" \"$w/one/out\"; then echo 'absolute path in the output'; exit 1; fi; \
     echo \"identical: $args ($(find \"$w/one/out\" -type f | wc -l) files)\"; \
   done; rm -rf \"$w\""
  sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/golden-repro ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx)
set_tests_properties(golden.reproducible PROPERTIES LABELS unit TIMEOUT 120)
