# tests/quant — calibration (`edgecc calibrate`, compiler/quant/), label `unit`. calib_ref.py is
# docs/quantization.md's definitions written again in numpy; the tests hold edgecc to it.

# The Fashion-MNIST example, minmax/percentile/entropy: bit for bit against numpy on the values
# edgecc eval computes, within a bin against numpy on torch's values (train.py's network with
# the ONNX weights); weight scales against the initializers, the set's hash against hashlib.
add_test(NAME unit_calib_fashion
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/fashion_calib.py --edgecc $<TARGET_FILE:edgecc>
                 --root ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/quant/fashion)
set_tests_properties(unit_calib_fashion PROPERTIES LABELS unit TIMEOUT 600
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")

# Hand-computed answers on tiny models, several inputs as sample folders, byte-identical output
# across runs and file orders, progress, and every bad flag value and bad file.
add_test(NAME unit_calib_cli
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/calib_cli.py --edgecc $<TARGET_FILE:edgecc>
                 --root ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/quant/cli)
set_tests_properties(unit_calib_cli PROPERTIES LABELS unit TIMEOUT 300)

# cmocka tests: unit_calib_thresholds, the threshold arithmetic on hand-made histograms and
# ranges (bin edges, the percentile's bin, the entropy search's tie rule, zero points that are
# exact halves); unit_plan_bits, the planner's bit-width choice (compiler/plan/bits.c) against
# brute force over every subset.
foreach(name_src calib_thresholds:test_thresholds plan_bits:test_bits)
  string(REPLACE ":" ";" ns ${name_src})
  list(GET ns 0 name)
  list(GET ns 1 src)
  add_executable(test_${name} ${CMAKE_CURRENT_SOURCE_DIR}/quant/${src}.c)
  target_include_directories(test_${name} PRIVATE ${EC_CMOCKA_INCLUDE} ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  target_link_libraries(test_${name} PRIVATE ec_compiler ${EC_CMOCKA_LIB})
  add_test(NAME unit_${name} COMMAND test_${name})
  set_tests_properties(unit_${name} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()

# QDQ import (the qdq pass) and the int8 XNNPACK kernels against ONNX Runtime (npm
# onnxruntime-node, installed into the work folder on first use): make_qdq.py's single layers
# within 1 LSB, its small CNN within 1.5x ORT's own fused-vs-unoptimised difference with the same
# top-1, and every Conv/MatMul running as an int8 layer on XNNPACK.
add_test(NAME unit_qdq_ort
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/qdq_ort.py --edgecc $<TARGET_FILE:edgecc>
                 --build-dir ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/quant/qdq)
set_tests_properties(unit_qdq_ort PROPERTIES LABELS unit TIMEOUT 600)

# Issue 14: a per-channel QDQ ResNet-50 (make_qdq_resnet50.py: the zoo's seeded resnet50,
# calibrated with ONNX Runtime on 4 seeded inputs, S8S8 as ORT's static quantizer writes it, OpenBLAS
# pinned so the model does not depend on the environment): every Conv an int8 layer on XNNPACK's
# qc8 convolution (and, compiled again with --kernels onednn, on oneDNN's int8 convolution; issue
# 16), and on 4 seeded inputs at least as close to the QDQ semantics computed in
# float64 (qdq_ref.py) as ORT's unoptimised session is. Label zoo: the export, the calibration and
# ORT's sessions take minutes of wall time.
add_test(NAME zoo_qdq_resnet50
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/qdq_resnet50.py --edgecc $<TARGET_FILE:edgecc>
                 --build-dir ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/quant/qdq_resnet50
                 --kernels xnnpack,onednn)
set_tests_properties(zoo_qdq_resnet50 PROPERTIES LABELS zoo TIMEOUT 1800
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")

# --calib with --accuracy-budget 1 (and --calib-labels) on the two examples: test-set accuracy
# within 1 pp of torch's fp32 (Fashion-MNIST: the 10,000 images of dataset-fashion-mnist; digits:
# train.py's 360), at least 80% of the multiply-adds int8 (counted from the ONNX file), weights
# at least 65% smaller than the float initializers, and a second compile reading the sensitivity
# cache writes byte-identical files.
foreach(model_max fashion:500 digits:300)
  string(REPLACE ":" ";" mm ${model_max})
  list(GET mm 0 model)
  list(GET mm 1 max)
  add_test(NAME unit_int8_budget_${model}
           COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/int8_budget.py --edgecc $<TARGET_FILE:edgecc>
                   --src ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/quant/int8-${model} --model ${model}
                   --calib-max ${max})
  set_tests_properties(unit_int8_budget_${model} PROPERTIES LABELS unit TIMEOUT 900
                       ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")
endforeach()

# --calib on compile and plan: bad flag values, the set's hash against hashlib, progress, a plan
# the check must tighten (fashion, 48 samples, budget 0), reproducible output.
add_test(NAME unit_quant_cli
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/quant_cli.py --edgecc $<TARGET_FILE:edgecc>
                 --root ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/quant/quant-cli)
set_tests_properties(unit_quant_cli PROPERTIES LABELS unit TIMEOUT 600)

# The int8 digits program (every candidate int8, fast and reference kernels) against numpy's
# emulation of docs/quantization.md's int8 graph, ranges and all computed from the ONNX file.
add_test(NAME unit_int8_emulate
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/int8_emulate.py --edgecc $<TARGET_FILE:edgecc>
                 --src ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/quant/int8-emulate)
set_tests_properties(unit_int8_emulate PROPERTIES LABELS unit TIMEOUT 600)

# Quantized cuts on the wire: the int8 program split in two at a float tensor of the model travels
# int8 with its scale and zero point; served over TCP with a byte-counting proxy between the two
# partitions, at least 70% fewer bytes per request than the fp32 split at the same tensor, outputs
# bit for bit the single int8 program's. Fashion-MNIST at two cuts (quantized by the sender,
# dequantized by the receiver); ResNet-50 after layer1 (label slow: calibration and three builds).
add_test(NAME dist_int8_cut_fashion
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/int8_cut.py --model fashion
                 --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
                 --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/quant/cut-fashion)
set_tests_properties(dist_int8_cut_fashion PROPERTIES LABELS dist TIMEOUT 600)
add_test(NAME dist_int8_cut_resnet50
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/int8_cut.py --model resnet50
                 --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
                 --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/quant/cut-resnet50
                 --zoo-cache ${EC_ZOO_CACHE})
set_tests_properties(dist_int8_cut_resnet50 PROPERTIES LABELS "dist;slow" TIMEOUT 3600 FIXTURES_REQUIRED ec_zoo)

# The int8 Fashion-MNIST program built for pi5 (XNNPACK from the aarch64 sysroot), run from its
# dist/ under qemu-aarch64 with QEMU_CPU=cortex-a76: the host's outputs (conformance tolerance,
# same class; the log says how many are bit-identical).
if(EC_QEMU_AARCH64 AND EC_CROSS_GCC)
  add_test(NAME cross_int8_fashion_pi5
           COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/quant/int8_cross.py --edgecc $<TARGET_FILE:edgecc>
                   --src ${CMAKE_SOURCE_DIR} --sysroot ${EC_CROSS_SYSROOT} --work ${CMAKE_BINARY_DIR}/quant/cross-pi5
                   --device pi5)
  set_tests_properties(cross_int8_fashion_pi5 PROPERTIES LABELS cross TIMEOUT 900 FIXTURES_REQUIRED ec_sysroot)
endif()
