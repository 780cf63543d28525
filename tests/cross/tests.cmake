# tests/cross — targets and cross builds. Label `unit`: the descriptions and `edgecc targets`.
# Label `cross`: an aarch64 sysroot from Debian's :arm64 packages (targets/make-sysroot.sh), the smoke
# project built like a device folder for x86-64, pi5, pi4, orin-nano and generic-aarch64, run from
# dist/ under qemu-aarch64 with each board's CPU and compared with the host.
set(EC_CROSS_DIR ${CMAKE_SOURCE_DIR}/tests/cross)
set(EC_CROSS_WORK ${CMAKE_BINARY_DIR}/cross)
if(DEFINED ENV{EC_SYSROOT} AND NOT DEFINED EC_CROSS_SYSROOT)
  set(EC_CROSS_SYSROOT "$ENV{EC_SYSROOT}")
endif()
set(EC_CROSS_SYSROOT "${CMAKE_BINARY_DIR}/sysroot-aarch64" CACHE PATH
    "aarch64 sysroot for the cross tests (made, or reused, by targets/make-sysroot.sh)")

# ---- targets: descriptions, errors, --detect, --targets lists -----------------------------------
add_test(NAME targets.list COMMAND ${CMAKE_COMMAND} "-DCMD=$<TARGET_FILE:edgecc>;targets" -DRC=0
         "-DREGEX=pi5 +aarch64-linux-gnu +4 +8192 +153.6.*orin +-> orin-agx.*host +-> x86-64"
         -P ${EC_CROSS_DIR}/expect.cmake)
add_test(NAME targets.json COMMAND ${CMAKE_COMMAND} "-DCMD=$<TARGET_FILE:edgecc>;targets;--json" -DRC=0
         "-DREGEX=\"orin-nano\".*\"f32\": 144" -P ${EC_CROSS_DIR}/expect.cmake)
add_test(NAME targets.alias COMMAND ${CMAKE_COMMAND} "-DCMD=$<TARGET_FILE:edgecc>;targets;orin" -DRC=0
         "-DREGEX=\"name\": \"orin-agx\".*\"cores\": 12.*\"mem_gbps\": 204.8" -P ${EC_CROSS_DIR}/expect.cmake)
set(_ec_bad
  "not_json|not valid JSON \\(line 2, column 12\\)"
  "not_object|must be a JSON object, got an array"
  "cores_string|field 'cores': must be an integer"
  "unknown_kernel|field 'kernels\\[3\\]': unknown kernel library 'cuda'"
  "missing_triple|field 'triple': missing"
  "negative_peak|field 'peak_gflops.f32': must be positive"
  "unknown_field|field 'ram_MB': unknown field"
  "unknown_feature|field 'features\\[2\\]': unknown feature 'dotprd'"
  "shell_flag|field 'cflags\\[1\\]': .* is not a plain compiler flag"
  "reserved_host|'host' is reserved"
  "bad_name|'Bad Name' is not a valid target name"
  "alias_unknown|field 'alias': unknown target 'orin-tx2'"
  "bad_triple|field 'triple': 'armv7-linux-gnueabihf' is not supported")
foreach(case IN LISTS _ec_bad)
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 file)
  list(GET case 1 msg)
  add_test(NAME targets.bad.${file} COMMAND ${CMAKE_COMMAND}
           "-DCMD=$<TARGET_FILE:edgecc>;targets;--target-file;${EC_CROSS_DIR}/bad_targets/${file}.json" -DRC=1
           "-DREGEX=^edgecc: error: [^\n]*bad_targets/${file}.json: [^\n]*${msg}" -P ${EC_CROSS_DIR}/expect.cmake)
endforeach()
set(_ec_dev
  "pi5,orin|0|pi5\tpi5\taarch64-linux-gnu\tcross\norin\torin-agx\t"
  "a=host,b=host,c=orin-nano|0|a\tx86-64\tx86_64-linux-gnu\tnative\nb\tx86-64\t.*c\torin-nano\t"
  "pi5,pi5|2|device 'pi5' is listed twice. .* --targets a=pi5,b=pi5"
  "a=pi5,a=pi4|2|device name 'a' is used twice"
  "pi6|2|unknown target 'pi6' \\(known: generic-aarch64, host, orin, orin-agx, orin-nano, orin-nx, pi4, pi5, x86-64."
  "pi5,,pi4|2|empty entry"
  "../x=pi5|2|'../x' is not a valid device name")
set(_i 0)
foreach(case IN LISTS _ec_dev)
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 spec)
  list(GET case 1 rc)
  list(GET case 2 msg)
  add_test(NAME targets.devices.${_i} COMMAND ${CMAKE_COMMAND}
           "-DCMD=$<TARGET_FILE:edgecc>;targets;--devices;${spec}" -DRC=${rc} "-DREGEX=${msg}"
           -P ${EC_CROSS_DIR}/expect.cmake)
  math(EXPR _i "${_i} + 1")
endforeach()
# --detect writes a description that edgecc itself accepts back.
add_test(NAME targets.detect COMMAND sh -c
  "set -e; f=${CMAKE_BINARY_DIR}/cross-detected.json; \"$1\" targets --detect --name this-box -o \"$f\"; \
   grep -q '\"estimated\": true' \"$f\"; \"$1\" targets --target-file \"$f\" this-box | grep -q '\"name\": \"this-box\"'; \
   \"$1\" targets --target-file \"$f\" --devices a=this-box,b=pi5"
  sh $<TARGET_FILE:edgecc>)
set_tests_properties(targets.list targets.json targets.alias targets.detect PROPERTIES LABELS unit)
foreach(case IN LISTS _ec_bad)
  string(REGEX REPLACE "\\|.*" "" file "${case}")
  set_tests_properties(targets.bad.${file} PROPERTIES LABELS unit)
endforeach()
math(EXPR _i "${_i} - 1")
foreach(i RANGE ${_i})
  set_tests_properties(targets.devices.${i} PROPERTIES LABELS unit)
endforeach()

# ---- cross builds under qemu -----------------------------------------------------------------------
find_program(EC_QEMU_AARCH64 qemu-aarch64)
find_program(EC_CROSS_GCC aarch64-linux-gnu-gcc)
if(NOT EC_QEMU_AARCH64 OR NOT EC_CROSS_GCC)
  # Not a quiet skip: one test that fails and says why (and the test count check sees the
  # cross tests missing).
  message(WARNING "cross tests need qemu-user and gcc-aarch64-linux-gnu: cross.tools will fail")
  add_test(NAME cross.tools COMMAND sh -c
    "echo 'FAILED: the cross tests need qemu-aarch64 (qemu-user) and aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu); install them (scripts/test.sh does) and reconfigure'; exit 1")
  set_tests_properties(cross.tools PROPERTIES LABELS cross)
  return()
endif()
# First run downloads ~8 MB of :arm64 packages (needs root for `dpkg --add-architecture arm64` and
# `apt-get update` once); later runs reuse the folder at no cost.
add_test(NAME cross.sysroot COMMAND sh ${CMAKE_SOURCE_DIR}/targets/make-sysroot.sh ${EC_CROSS_SYSROOT})
set_tests_properties(cross.sysroot PROPERTIES LABELS cross FIXTURES_SETUP ec_sysroot TIMEOUT 900)

set(_ec_smoke_args -DEDGECC=$<TARGET_FILE:edgecc> -DSRC=${EC_CROSS_DIR}/smoke
    -DTARGETS_DIR=${CMAKE_SOURCE_DIR}/targets -DWORK=${EC_CROSS_WORK} -DSYSROOT=${EC_CROSS_SYSROOT}
    -DPYTHON=${EC_PYTHON} -DCOMPARE=${EC_CROSS_DIR}/compare_text.py)
add_test(NAME cross.smoke.x86-64 COMMAND ${CMAKE_COMMAND} ${_ec_smoke_args} -DTARGET=x86-64
         -P ${EC_CROSS_DIR}/smoke_test.cmake)
set_tests_properties(cross.smoke.x86-64 PROPERTIES LABELS cross FIXTURES_SETUP ec_cross_host)
foreach(t pi5 pi4 orin-nano generic-aarch64)
  add_test(NAME cross.smoke.${t} COMMAND ${CMAKE_COMMAND} ${_ec_smoke_args} -DTARGET=${t}
           -DHOST_OUT=${EC_CROSS_WORK}/host-out -P ${EC_CROSS_DIR}/smoke_test.cmake)
  set_tests_properties(cross.smoke.${t} PROPERTIES LABELS cross FIXTURES_REQUIRED "ec_sysroot;ec_cross_host"
                       TIMEOUT 300)
endforeach()
# Dependency-free (--kernels ref) code cross-builds with the toolchain file alone: no sysroot.
add_test(NAME cross.ref_only.aarch64 COMMAND sh -c
  "set -e; rm -rf \"$1\"; cmake -S \"$2\" -B \"$1\" --toolchain \"$3\" -DEC_TARGETS_DIR=\"$4\" -DEC_SMOKE_REF_ONLY=ON >/dev/null; \
   cmake --build \"$1\" >/dev/null; QEMU_CPU=cortex-a72 qemu-aarch64 -L /usr/aarch64-linux-gnu \"$1/ref_smoke\""
  sh ${EC_CROSS_WORK}/ref-only ${EC_CROSS_DIR}/smoke ${CMAKE_SOURCE_DIR}/targets/toolchains/aarch64-linux-gnu.cmake
  ${CMAKE_SOURCE_DIR}/targets)
set_tests_properties(cross.ref_only.aarch64 PROPERTIES LABELS cross PASS_REGULAR_EXPRESSION "^ref [0-9.]+")

# ---- generated code, cross-built -------------------------------------------------------------------
# ~50 named node tests for pi5: C from `edgecc --targets pi5` and `--targets host`, runtime and kernels
# compiled once per target into a static library, programs linked with -lm only, run under qemu
# (cortex-a76), outputs compared with the host's and the expected ones (cross_conformance.py).
add_test(NAME cross.conformance.pi5
         COMMAND ${EC_PYTHON} ${EC_CROSS_DIR}/cross_conformance.py --edgecc $<TARGET_FILE:edgecc> --device pi5
                 --tests ${EC_CROSS_DIR}/conformance_tests.txt --work ${EC_CROSS_WORK}/conformance-pi5 -j 2)
set_tests_properties(cross.conformance.pi5 PROPERTIES LABELS cross TIMEOUT 600)
# Zoo models through whole device folders (own CMake build, toolchain.cmake, dist/ run from a copy
# under qemu with each board's CPU): mobilenet_v2 for pi5, orin-nano and pi4 (cortex-a72), squeezenet1_1
# for pi5 and orin-nano. Models come from the zoo cache the fixture zoo_export fills.
foreach(case "mobilenet_v2|pi5;orin-nano;pi4" "squeezenet1_1|pi5;orin-nano")
  string(REPLACE "|" ";" case "${case}")
  list(POP_FRONT case model)
  add_test(NAME cross.zoo.${model}
           COMMAND sh ${EC_CROSS_DIR}/zoo_cross.sh $<TARGET_FILE:edgecc>
                   ${EC_PYTHON} ${EC_ZOO_CACHE} ${model} ${EC_CROSS_WORK}/zoo-${model} ${case})
  set_tests_properties(cross.zoo.${model} PROPERTIES LABELS cross TIMEOUT 900 FIXTURES_REQUIRED ec_zoo)
endforeach()
# The same with the fast kernels: XNNPACK and its libraries from the sysroot, copied into dist/lib.
add_test(NAME cross.zoo_xnnpack.mobilenet_v2
         COMMAND env KERNELS=xnnpack EC_SYSROOT=${EC_CROSS_SYSROOT} sh ${EC_CROSS_DIR}/zoo_cross.sh $<TARGET_FILE:edgecc>
                 ${EC_PYTHON} ${EC_ZOO_CACHE} mobilenet_v2
                 ${EC_CROSS_WORK}/zoo-xnnpack-mobilenet_v2 pi5 orin-nano)
set_tests_properties(cross.zoo_xnnpack.mobilenet_v2 PROPERTIES LABELS cross TIMEOUT 900
                     FIXTURES_REQUIRED "ec_sysroot;ec_zoo")
# googlenet's and inception_v3's clusters on two threads under qemu (the hand-offs on aarch64's weaker
# memory model): compiled with --parallel inter for 2 threads (plan.json must hold 2 clusters or more,
# NEED_CLUSTERS), run with --threads 2 on the host and under qemu, pi5's output equal to the host's.
foreach(model googlenet inception_v3)
  add_test(NAME cross.zoo_parallel.${model}
           COMMAND env KERNELS=xnnpack EC_SYSROOT=${EC_CROSS_SYSROOT} "EDGECC_FLAGS=--threads 2 --parallel inter"
                   "RUN_FLAGS=--threads 2" NEED_CLUSTERS=2
                   sh ${EC_CROSS_DIR}/zoo_cross.sh $<TARGET_FILE:edgecc> ${EC_PYTHON} ${EC_ZOO_CACHE} ${model}
                   ${EC_CROSS_WORK}/zoo-parallel-${model} pi5)
  set_tests_properties(cross.zoo_parallel.${model} PROPERTIES LABELS cross TIMEOUT 1200
                       FIXTURES_REQUIRED "ec_sysroot;ec_zoo")
endforeach()
# The same under --parallel auto for inception_v3, whose auto program is not inter's (auto refines its
# clusters per block, docs/planner.md "Clusters"): the default mode's hand-offs on aarch64 too.
add_test(NAME cross.zoo_parallel_auto.inception_v3
         COMMAND env KERNELS=xnnpack EC_SYSROOT=${EC_CROSS_SYSROOT} "EDGECC_FLAGS=--threads 2 --parallel auto"
                 "RUN_FLAGS=--threads 2" NEED_CLUSTERS=2
                 sh ${EC_CROSS_DIR}/zoo_cross.sh $<TARGET_FILE:edgecc> ${EC_PYTHON} ${EC_ZOO_CACHE} inception_v3
                 ${EC_CROSS_WORK}/zoo-parallel-auto-inception_v3 pi5)
set_tests_properties(cross.zoo_parallel_auto.inception_v3 PROPERTIES LABELS cross TIMEOUT 1200
                     FIXTURES_REQUIRED "ec_sysroot;ec_zoo")

# Issue 17's CNN + LSTM inside an If, 20 steps carrying the state through the files, for pi5
# (default kernels and --kernels ref): the device folder's own CMake build, dist/ run under qemu
# with cortex-a76, every step against edgecc eval and ONNX Runtime (npm) on the host.
add_test(NAME cross.if_lstm.pi5
         COMMAND ${EC_PYTHON} ${CMAKE_SOURCE_DIR}/tests/codegen/if_lstm.py --edgecc $<TARGET_FILE:edgecc>
                 --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR} --work ${EC_CROSS_WORK}/if_lstm-pi5
                 --device pi5 --sysroot ${EC_CROSS_SYSROOT} --ort-dir ${CMAKE_BINARY_DIR}/codegen/ort)
set_tests_properties(cross.if_lstm.pi5 PROPERTIES LABELS cross TIMEOUT 900 FIXTURES_REQUIRED ec_sysroot)

# A pi5 build folder configured for the reference kernels without a sysroot, then again for the
# fast kernels with one: dist/ still finds XNNPACK's libraries.
add_test(NAME cross.reconfigure_sysroot
         COMMAND sh ${EC_CROSS_DIR}/reconfigure.sh $<TARGET_FILE:edgecc> ${EC_CROSS_SYSROOT}
                 ${EC_CROSS_WORK}/reconfigure ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx
                 ${CMAKE_SOURCE_DIR}/examples/digits/samples/input_0.pb)
set_tests_properties(cross.reconfigure_sysroot PROPERTIES LABELS cross TIMEOUT 600 FIXTURES_REQUIRED ec_sysroot)
