# tests/codegen/tests.cmake — code generation: generated folders build, run and match the
# reference; memory plan verified on every compile; no allocation per run; -Werror on gcc and
# clang; deterministic output; output-folder manifest rules. Label `unit` (each takes seconds).
foreach(t tiny embed fast_build digits werror determinism manifest malloc driver_errors plan_json
          stable_names refit_same_c alias_steps)
  add_test(NAME codegen_${t}
    COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/test_codegen.py ${t}
            --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR})
  set_tests_properties(codegen_${t} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()

add_executable(test_ecrt_pb ${CMAKE_CURRENT_SOURCE_DIR}/codegen/test_ecrt_pb.c)
target_link_libraries(test_ecrt_pb PRIVATE ecrt)
add_test(NAME codegen_ecrt_pb COMMAND test_ecrt_pb)
set_tests_properties(codegen_ecrt_pb PROPERTIES LABELS unit)

# Issue 17: If, Loop and Scan in generated code (ref and xnnpack) against numpy, built with
# -Werror; --max-trip-count's errors and its run-time bound check.
add_test(NAME codegen_control_flow
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/control_codegen.py
          --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR}
          --work ${CMAKE_BINARY_DIR}/codegen/control_flow)
set_tests_properties(codegen_control_flow PROPERTIES LABELS unit TIMEOUT 300)
# Issue 17: data-dependent extents inside a Loop body (a Slice at the iteration number, as
# test_loop11): carried values checked, scan outputs stacked and packed, against numpy.
add_test(NAME codegen_loop_extents
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/loop_extents.py
          --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR}
          --work ${CMAKE_BINARY_DIR}/codegen/loop_extents)
set_tests_properties(codegen_loop_extents PROPERTIES LABELS unit TIMEOUT 300)
# Issue 17: data-dependent shapes (NonZero and element-wise ops on it, TopK with a run-time K,
# Compress with a run-time condition, Range with --max-extent) in generated code and edgecc eval
# against numpy, one context run with changing extents, and the readers that are refused.
add_test(NAME codegen_dyn_shapes
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/dyn_shapes.py
          --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR}
          --work ${CMAKE_BINARY_DIR}/codegen/dyn_shapes)
set_tests_properties(codegen_dyn_shapes PROPERTIES LABELS unit TIMEOUT 300)
# Issue 17: a CNN + LSTM in each branch of an If on an int64 sample rate, state in and out
# (examples/control/make_if_lstm.py), 20 steps carrying the state through the program's files:
# every step equal to edgecc eval's and ONNX Runtime's (npm, installed into codegen/ort on first
# use) within 1e-4 of the largest value, default and reference kernels.
add_test(NAME codegen_if_lstm
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/if_lstm.py
          --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR}
          --work ${CMAKE_BINARY_DIR}/codegen/if_lstm --ort-dir ${CMAKE_BINARY_DIR}/codegen/ort)
set_tests_properties(codegen_if_lstm PROPERTIES LABELS unit TIMEOUT 600)
# Issue 17: operands that are no shape operands fed at run time: CumSum's axis (every axis, one out
# of range) and a training-mode Dropout's ratio (0: the identity; 0.5: a run-time error, never a
# silent identity), generated code (ref and xnnpack) and edgecc eval against numpy.
add_test(NAME codegen_runtime_operands
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/runtime_operands.py
          --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR}
          --work ${CMAKE_BINARY_DIR}/codegen/runtime_operands)
set_tests_properties(codegen_runtime_operands PROPERTIES LABELS unit TIMEOUT 300)

# Issue 13: a served clustered program (2 clusters at --threads 3; x86-64's default kernels, so
# oneDNN's OpenMP workers take the third thread) uses no CPU between requests: every thread's time in /proc/PID/task/*/stat stands still for 1 s idle.
add_test(NAME codegen_idle_threads
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/idle_threads.py
          --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client> --build-dir ${CMAKE_BINARY_DIR}
          --src ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/codegen/idle_threads)
set_tests_properties(codegen_idle_threads PROPERTIES LABELS unit TIMEOUT 300)

# Issue 13: a clustered program's --profile-json gives each step's cluster and start, and they make
# a real schedule: steps of one cluster do not overlap, a step reading another cluster's tensor
# starts after its writer ended (the ONNX graph's edges), clusters as plan.json lists them.
add_test(NAME codegen_cluster_timeline
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/codegen/cluster_timeline.py
          --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR}
          --work ${CMAKE_BINARY_DIR}/codegen/cluster_timeline)
set_tests_properties(codegen_cluster_timeline PROPERTIES LABELS unit TIMEOUT 300)
