# tests/distributed — served partitions over loopback (label `dist`): client outputs equal direct
# runs over tcp/unix/shm, hand-split chains equal the composed model, corrupted frames, a killed
# next partition, Poisson load, Gamma-burst and closed-loop burst arrivals. Ephemeral ports and
# private names: the tests run in parallel.
# The wire-format unit test (the streaming reader over a socketpair: round trips, every
# corruption detected) is label `unit`.
add_executable(test_ecrt_wire ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_wire.c)
target_link_libraries(test_ecrt_wire PRIVATE ecrt)
add_test(NAME dist_wire COMMAND test_ecrt_wire)
set_tests_properties(dist_wire PROPERTIES LABELS unit TIMEOUT 60)

# edgecc-client against a fake server that lies (lying_server.py): dropped, duplicated, forged,
# corrupted and late replies each show in the client's counters and make it exit 1. Label `unit`:
# no model is compiled, each takes a second or two.
foreach(b honest drop duplicate forge corrupt stale_single)
  add_test(NAME dist_lying_${b}
           COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/distributed/lying_server.py ${b}
                   --client $<TARGET_FILE:edgecc-client>)
  set_tests_properties(dist_lying_${b} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()

foreach(t serve_tcp serve_unix serve_shm chain_tcp chain_unix chain_shm bad_frames next_killed
          load_poisson_tcp load_poisson_shm load_modes_tcp
          merged_chain_tcp # a merged program's chain answers requests for model sets
          merged_ram_tcp # three models the boards' ram_mb fits only merged, served as a chain
          merged_tree_tcp # a partition sending to two next ones (--next MODELS@), one merged reply
          merged_joint_tree_tcp # the joint plan's tree carried out (heads on two boards), served; --mix flips it
          plan_id) # a split compile's programs started without --plan-id; two compiles' refuse each other
  add_test(NAME dist_${t}
    COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_dist.py ${t}
            --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
            --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR})
  set_tests_properties(dist_${t} PROPERTIES LABELS dist TIMEOUT 180)
endforeach()
# Exports three 20 MB models with torch and compiles them four times.
set_tests_properties(dist_merged_ram_tcp dist_merged_joint_tree_tcp PROPERTIES TIMEOUT 600)

# Real partitions: `edgecc --partitions 3` over a=host,b=host,c=host, served and chained, equal to the
# single program bit for bit. digits is fast; resnet50 and googlenet export through the zoo cache.
foreach(model digits resnet50 googlenet)
  foreach(kind tcp unix shm)
    add_test(NAME dist_partitions_${model}_${kind}
      COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_dist.py partitions_${model}_${kind}
              --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
              --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR} --zoo-cache ${EC_ZOO_CACHE})
    set_tests_properties(dist_partitions_${model}_${kind} PROPERTIES LABELS dist TIMEOUT 1800)
  endforeach()
endforeach()

# The same chain cross-built: digits and mobilenet_v2 in 3 partitions over a=pi5,b=orin-nano,c=pi5
# (reference kernels: the toolchain file alone builds them), each program run from a copy of its
# dist/ under qemu-aarch64 with the board's CPU, served over tcp on loopback: outputs within the
# conformance tolerance of the host's single program.
find_program(EC_DIST_QEMU qemu-aarch64)
find_program(EC_DIST_CROSS_GCC aarch64-linux-gnu-gcc)
if(EC_DIST_QEMU AND EC_DIST_CROSS_GCC)
  foreach(model digits mobilenet_v2)
    add_test(NAME dist_partitions_cross_${model}
      COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_dist.py partitions_cross_${model}
              --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
              --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR} --zoo-cache ${EC_ZOO_CACHE})
    set_tests_properties(dist_partitions_cross_${model} PROPERTIES LABELS "dist;cross"
                         TIMEOUT 1200)
  endforeach()
endif()
