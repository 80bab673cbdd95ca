# core.cmake - the reactor core's tests, each run once per backend (see
# rx_backend_tests in tests/CMakeLists.txt), named core.<test>.<backend>.
rx_backend_tests("core." core register dispatch stale model)
