/* Every suite, one line each: AW_SUITE(name) expects a
 * CU_TestInfo aw_tests_<name>[] in tests/test_<name>.c. */
AW_SUITE(op)
AW_SUITE(threads)
