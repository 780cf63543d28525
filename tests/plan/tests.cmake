# tests/plan — the planner end to end through the CLI: `edgecc plan` tables, errors (--split-at,
# --partitions, ram_mb), and partitioned programs chained through files equal to the whole model.
set(EC_PLAN_DIR ${CMAKE_CURRENT_LIST_DIR})
set(_ec_digits ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx)
set(_ec_expect ${CMAKE_SOURCE_DIR}/tests/cross/expect.cmake)

# Usage errors (registered below, with the profile errors), each with its message.
set(_ec_plan_err
  "error.split_unknown|--split-at nope|--split-at: the model has no tensor named 'nope'"
  "error.split_input|--split-at input|'input' is a graph input: cutting there leaves an empty partition"
  "error.split_twice|--split-at /pool_1/MaxPool_output_0,/pool_1/MaxPool_output_0|is given twice"
  "error.split_empty|--split-at a,,b|empty tensor name"
  "error.split_contradicts|--split-at /pool_1/MaxPool_output_0 --partitions 1|--partitions 1 contradicts --split-at"
  "error.too_many_parts|--partitions 3|3 partitions need 3 devices, but only 2 are given"
  "error.bad_objective|--objective fast|--objective fast: must be latency or throughput"
  "error.bad_link|--link a:c=100|device 'c' is not in --targets"
  "error.bad_parallel|--parallel fast|--parallel fast: must be intra, inter or auto"
  "error.parallel_empty|--parallel|--parallel needs a value"
  "error.parallel_case|--parallel INTER|--parallel INTER: must be intra, inter or auto")

# Tables: a forced split over two boards, and devices left unused.
add_test(NAME plan.table.split COMMAND ${CMAKE_COMMAND}
         "-DCMD=$<TARGET_FILE:edgecc>;plan;${_ec_digits};--targets;a=host,b=pi5;--split-at;/pool_1/MaxPool_output_0;--link;a:b=10,5"
         -DRC=0 "-DREGEX=p0 +a +host +6 +0-3 .* 512 B +5.410 +/pool_1/MaxPool_output_0\np1 +b +pi5 +2 .*latency: [0-9.]+ ms\npredicted throughput"
         -P ${_ec_expect})
add_test(NAME plan.table.unused COMMAND ${CMAKE_COMMAND}
         "-DCMD=$<TARGET_FILE:edgecc>;plan;${_ec_digits};--targets;pi5,orin-nano,host" -DRC=0
         "-DREGEX=1 partition over 3 devices.*unused \\(whole model there" -P ${_ec_expect})
set_tests_properties(plan.table.split plan.table.unused PROPERTIES LABELS unit)

# Clusters in the table: googlenet's branches under --parallel inter at 2 threads (label zoo), and a
# chain (digits) that keeps one cluster whatever the mode.
add_test(NAME plan.table.clusters COMMAND ${CMAKE_COMMAND}
         "-DCMD=$<TARGET_FILE:edgecc>;plan;${EC_ZOO_CACHE}/googlenet.onnx;--targets;host;--threads;2;--parallel;inter"
         -DRC=0 "-DREGEX=clusters \\(--parallel inter\\):\np0: 2 clusters on 2 threads sharing one pool, predicted [0-9.]+ ms against [0-9.]+ ms as one cluster[^\n]*\n  c0: [0-9]+ nodes, work [0-9.]+ ms, [0-9]+ hand-offs\n  c1: "
         -P ${_ec_expect})
set_tests_properties(plan.table.clusters PROPERTIES LABELS zoo FIXTURES_REQUIRED ec_zoo)
add_test(NAME plan.table.chain_one_cluster COMMAND ${CMAKE_COMMAND}
         "-DCMD=$<TARGET_FILE:edgecc>;plan;${_ec_digits};--targets;host;--threads;4;--parallel;inter"
         -DRC=0 "-DREGEX=clusters \\(--parallel inter\\):\np0: one cluster, 4 intra-op threads"
         -P ${_ec_expect})
set_tests_properties(plan.table.chain_one_cluster PROPERTIES LABELS unit)
# auto's mix per block from per-node times at 1 and 2 threads (two written profiles of googlenet with
# known answers: blocks whose branches split poorly stay side by side, 5a and 5b run on both threads,
# inter splits them), plan.json's predicted latency of a clustered partition, one thread count twice.
add_test(NAME plan.cluster_mix COMMAND ${EC_PYTHON} ${EC_PLAN_DIR}/cluster_mix.py --edgecc $<TARGET_FILE:edgecc>
         --cache ${EC_ZOO_CACHE} --work ${CMAKE_BINARY_DIR}/plan-cluster-mix)
set_tests_properties(plan.cluster_mix PROPERTIES LABELS zoo TIMEOUT 300 FIXTURES_REQUIRED ec_zoo)

# Compile over three devices: three programs chained through files equal the single program (digits:
# fast, label unit; resnet50: label zoo), and an unused device gets only a README.
add_test(NAME plan.chain.digits COMMAND sh ${EC_PLAN_DIR}/chain.sh $<TARGET_FILE:edgecc> ${EC_PYTHON}
         ${CMAKE_SOURCE_DIR}/examples/digits digits ${CMAKE_BINARY_DIR}/plan-chain-digits
         --targets a=host,b=host,c=host --partitions 3)
set_tests_properties(plan.chain.digits PROPERTIES LABELS unit TIMEOUT 300
                     PASS_REGULAR_EXPRESSION "3 partitions chained through files give the single program's output bit for bit")
add_test(NAME plan.chain.resnet50 COMMAND sh ${EC_PLAN_DIR}/chain.sh $<TARGET_FILE:edgecc>
         ${EC_PYTHON} ${EC_ZOO_CACHE} resnet50
         ${CMAKE_BINARY_DIR}/plan-chain-resnet50 --targets a=host,b=host,c=host --partitions 3 --objective throughput)
set_tests_properties(plan.chain.resnet50 PROPERTIES LABELS zoo TIMEOUT 900 FIXTURES_REQUIRED ec_zoo
                     PASS_REGULAR_EXPRESSION "3 partitions chained through files give the single program's output bit for bit")
add_test(NAME plan.unused_readme COMMAND sh -c
  "set -e; rm -rf \"$2\"; \"$1\" \"$3\" --targets a=host,b=pi5 -o \"$2\" >/dev/null; test \"$(ls \"$2/b\")\" = README.md; \
   grep -q 'Predicted compute of the whole model here' \"$2/b/README.md\"; grep -q '\"used\": false' \"$2/plan.json\"; rm -rf \"$2\""
  sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/plan-unused ${_ec_digits})
set_tests_properties(plan.unused_readme PROPERTIES LABELS unit)

# Memory: ResNet-50's ~98 MB of weights on a 64 MB board is an error naming the device.
add_test(NAME plan.ram_mb COMMAND sh -c
  "set -e; [ -f \"$2/resnet50.onnx\" ] || { echo 'FAILED: no resnet50 in the zoo cache (fixture zoo_export)'; exit 1; }; \
   \"$1\" plan \"$2/resnet50.onnx\" --target-file \"$3/small64.json\" --targets a=small64 2>&1 && echo rc=0 || echo rc=$?"
  sh $<TARGET_FILE:edgecc> ${EC_ZOO_CACHE} ${EC_PLAN_DIR})
set_tests_properties(plan.ram_mb PROPERTIES LABELS zoo FIXTURES_REQUIRED ec_zoo
  PASS_REGULAR_EXPRESSION "error: [^\n]*device 'a': blocks 0..37 need [0-9.]+ MB \\(weights [0-9.]+ MB \\+ arena [0-9.]+ MB \\+ staging [0-9.]+ MB\\) but the device has 64.0 MB[^\n]*\nrc=1")

# Measured profiles (--profile DEVICE=FILE): a real program's --profile-json output and written
# ones drive the plan (tests/plan/profile.sh), and the usage errors.
add_test(NAME plan.profile COMMAND sh ${EC_PLAN_DIR}/profile.sh $<TARGET_FILE:edgecc> ${EC_PYTHON} ${_ec_digits}
         ${CMAKE_SOURCE_DIR}/examples/digits/samples/input_0.pb ${CMAKE_BINARY_DIR}/plan-profile)
set_tests_properties(plan.profile PROPERTIES LABELS unit TIMEOUT 300
                     PASS_REGULAR_EXPRESSION "profiles: measured step times drive the plan")
set(_ec_profile_err
  "profile_error.unknown_device|--profile c=${EC_PLAN_DIR}/small64.json|--profile: 'c=[^']*': device 'c' is not in --targets"
  "profile_error.no_file|--profile a=${CMAKE_BINARY_DIR}/no-such-profile.json|no-such-profile.json: cannot open the profile"
  "profile_error.not_json|--profile a=${_ec_digits}|digits.onnx: not a profile written by a program's --profile-json: not valid JSON"
  "profile_error.not_profile|--profile a=${EC_PLAN_DIR}/small64.json|small64.json: not a profile [^\n]*\"format\" must be \"edgecc-profile\""
  "profile_error.no_device|--profile ${EC_PLAN_DIR}/small64.json|must look like DEVICE=FILE"
  "profile_error.twice|--profile a=${EC_PLAN_DIR}/empty-profile.json --profile a=${EC_PLAN_DIR}/empty-profile.json|--profile: device 'a' is given twice")

# Every usage error above, each with its message (exit status 2).
foreach(case IN LISTS _ec_plan_err _ec_profile_err)
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 name)
  list(GET case 1 args)
  list(GET case 2 msg)
  string(REPLACE " " ";" args "${args}")
  add_test(NAME plan.${name} COMMAND ${CMAKE_COMMAND}
           "-DCMD=$<TARGET_FILE:edgecc>;plan;${_ec_digits};--targets;a=host,b=host;${args}" -DRC=2
           "-DREGEX=edgecc: error: [^\n]*${msg}" -P ${_ec_expect})
  set_tests_properties(plan.${name} PROPERTIES LABELS unit)
endforeach()

# plan.dot renders: `dot -Tsvg` draws the real node and cut tensor names (DOT escapes, not JSON's),
# and `edgecc plan --svg FILE` writes the picture or names the package when dot is missing.
add_test(NAME plan.dot_renders COMMAND ${EC_PYTHON} ${EC_PLAN_DIR}/dot_test.py $<TARGET_FILE:edgecc> ${_ec_digits}
         ${CMAKE_BINARY_DIR}/plan-dot)
set_tests_properties(plan.dot_renders PROPERTIES LABELS unit TIMEOUT 120)

# An unused device said plainly: the summary line's figures equal plan.json's, and the flags it
# suggests (--partitions N, --objective throughput) do place a partition on it with its figures.
add_test(NAME plan.unused_said COMMAND ${EC_PYTHON} ${EC_PLAN_DIR}/unused_test.py $<TARGET_FILE:edgecc> ${_ec_digits}
         ${CMAKE_BINARY_DIR}/plan-unused-said)
set_tests_properties(plan.unused_said PROPERTIES LABELS unit TIMEOUT 120)

# --mix and the joint plan of several merged models (issue 15): usage errors, plan.json's "joint",
# a mix that flips which model's head the tree DP keeps on the small board.
add_test(NAME unit_plan_mix
         COMMAND ${EC_PYTHON} ${EC_PLAN_DIR}/mix_test.py $<TARGET_FILE:edgecc>
                 ${CMAKE_SOURCE_DIR}/tests/merge/merge_models.py ${CMAKE_BINARY_DIR}/plan-mix)
set_tests_properties(unit_plan_mix PROPERTIES LABELS unit TIMEOUT 600)
