# tests/distributed — served partitions over loopback (label `dist`): client outputs equal direct
# runs over tcp/unix/shm, hand-split chains equal the composed model, corrupted frames, a killed
# next partition, Poisson load. Ephemeral ports and private names: the tests run in parallel.
# The wire-format unit test (round trips, every corruption detected) is label `unit`.
add_executable(test_ecrt_wire ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_wire.c)
target_link_libraries(test_ecrt_wire PRIVATE ecrt)
add_test(NAME dist_wire COMMAND test_ecrt_wire)
set_tests_properties(dist_wire PROPERTIES LABELS unit TIMEOUT 60)

foreach(t serve_tcp serve_unix serve_shm chain_tcp chain_unix chain_shm bad_frames next_killed
          load_poisson_tcp load_poisson_shm)
  add_test(NAME dist_${t}
    COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_dist.py ${t}
            --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
            --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR})
  set_tests_properties(dist_${t} PROPERTIES LABELS dist SKIP_RETURN_CODE 77 TIMEOUT 180)
endforeach()

# Real partitions: `edgecc --partitions 3` over a=host,b=host,c=host, served and chained, equal to the
# single program bit for bit. digits is fast; resnet50 and googlenet export through the zoo cache.
foreach(model digits resnet50 googlenet)
  foreach(kind tcp unix shm)
    add_test(NAME dist_partitions_${model}_${kind}
      COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/distributed/test_dist.py partitions_${model}_${kind}
              --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
              --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR} --zoo-cache ${EC_ZOO_CACHE})
    set_tests_properties(dist_partitions_${model}_${kind} PROPERTIES LABELS dist SKIP_RETURN_CODE 77 TIMEOUT 1800)
  endforeach()
endforeach()
