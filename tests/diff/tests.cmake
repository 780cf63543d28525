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

# Generated cases: 4 x 80 in CI (label unit, 2.5-3 minutes of CPU together), 4 x 800 more under
# slow. Seed ranges do not overlap, so every test adds cases; a failure prints its seed.
foreach(k RANGE 0 3)
  math(EXPR seed "1 + ${k} * 80")
  add_test(NAME diff_ci_${k} COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --seed ${seed} --count 80
                                     --work ${CMAKE_BINARY_DIR}/diff/ci_${k})
  set_tests_properties(diff_ci_${k} PROPERTIES LABELS unit TIMEOUT 1200)
  math(EXPR seed "10001 + ${k} * 800")
  add_test(NAME diff_slow_${k} COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --seed ${seed} --count 800
                                       --work ${CMAKE_BINARY_DIR}/diff/slow_${k})
  set_tests_properties(diff_slow_${k} PROPERTIES LABELS slow TIMEOUT 7200)
endforeach()

# --kernels onednn (oneDNN for convolution, fully connected, pooling, Add, Mul): the regression
# graphs and 80 generated cases in CI, 800 more under slow; each run must see every oneDNN kind.
add_test(NAME diff_onednn_ci COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --kernels onednn --seed 1 --count 80
                                     --work ${CMAKE_BINARY_DIR}/diff/onednn_ci)
add_test(NAME diff_onednn_regress COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --kernels onednn --regress
                                          --work ${CMAKE_BINARY_DIR}/diff/onednn_regress)
set_tests_properties(diff_onednn_ci diff_onednn_regress PROPERTIES LABELS unit TIMEOUT 1200)
add_test(NAME diff_onednn_slow COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --kernels onednn --seed 10001
                                       --count 800 --work ${CMAKE_BINARY_DIR}/diff/onednn_slow)
set_tests_properties(diff_onednn_slow PROPERTIES LABELS slow TIMEOUT 7200)
# oneDNN's int8 convolution and matmul (issue 16): the qlinear pattern alone, 240 cases (about 60
# QLinearConv and 30 QLinearMatMul of int8 weights, uint8 or int8 data; ~25 s of CPU), each within
# 1 LSB of the reference int8 kernels (the run prints how many values were one step off: none so
# far) and each of those nodes on oneDNN; the run must see both kinds. Again at
# DNNL_MAX_CPU_ISA=AVX2, a CPU without VNNI, where eck_dnnl refuses oneDNN's saturating int8 kernels.
add_test(NAME diff_onednn_int8 COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --kernels onednn --pattern qlinear
                                       --seed 30001 --count 240 --work ${CMAKE_BINARY_DIR}/diff/onednn_int8)
add_test(NAME diff_onednn_int8_avx2 COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --kernels onednn --pattern qlinear
                                            --seed 40001 --count 120 --work ${CMAKE_BINARY_DIR}/diff/onednn_int8_avx2)
set_tests_properties(diff_onednn_int8 diff_onednn_int8_avx2 PROPERTIES LABELS unit TIMEOUT 1200)
set_tests_properties(diff_onednn_int8_avx2 PROPERTIES ENVIRONMENT "DNNL_MAX_CPU_ISA=AVX2")
# No --kernels: the host's default order (x86-64: oneDNN first, Mul on XNNPACK), what a user gets;
# each run must see every oneDNN kind but Mul, a Conv or pooling writing into a Concat included.
add_test(NAME diff_default_slow COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --kernels default --seed 20001
                                        --count 200 --work ${CMAKE_BINARY_DIR}/diff/default_slow)
set_tests_properties(diff_default_slow PROPERTIES LABELS slow TIMEOUT 7200)

# The recurrent layers (pattern rnn, eck_xnn_rnn) alone: 60 cases of seeds no other test uses, so
# that they get more than their 1/22 share of diff_ci_*; a few seconds of CPU (compiles and
# builds are few: the cases share two models).
add_test(NAME diff_rnn COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --pattern rnn --seed 50001 --count 60
                                --batch 60 --work ${CMAKE_BINARY_DIR}/diff/rnn)
set_tests_properties(diff_rnn PROPERTIES LABELS unit TIMEOUT 1200)

# Issue 18's fusions alone: attention's Transposes folded into StridedMatMuls (pattern attention:
# passes transpose-opt and matmul-transpose, eck_blas_strided_matmul) and the tanh form of GELU
# (pattern gelu_tanh, eck_xnn_gelu_tanh), 40 cases each of seeds no other test uses, with the
# XNNPACK family and with --kernels onednn and the default order (the strided products run on the
# same kernel in all three; the cases around them do not). A few compiles each (the cases share a
# model): 60 attention cases took 12 s of CPU with one family (user time, loaded AMD EPYC); 350 s
# of wall time for this test on that loaded machine.
add_test(NAME diff_attention COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --pattern attention,gelu_tanh
                                     --seed 90001 --count 80 --batch 80 --kernels xnnpack,onednn,default
                                     --work ${CMAKE_BINARY_DIR}/diff/attention)
set_tests_properties(diff_attention PROPERTIES LABELS unit TIMEOUT 1200)

# Average pooling that counts its padding: lowering's fold-pad-pool (a zero Pad folded into a oneDNN
# AveragePool's counted padding, Inception's pooling branch) and count_include_pad with pads on
# oneDNN's include-padding average; XNNPACK keeps the Pad and runs no such average.
add_test(NAME diff_pad_pool COMMAND ${EC_PYTHON} ${EC_DIFF} ${EC_DIFF_ARGS} --pattern pad_pool,pool,pad
                                    --seed 70001 --count 90 --batch 90 --kernels xnnpack,onednn,default
                                    --work ${CMAKE_BINARY_DIR}/diff/pad_pool)
set_tests_properties(diff_pad_pool PROPERTIES LABELS unit TIMEOUT 1200)
