/* Every suite, one line each: AW_SUITE(name) expects a
 * CU_TestInfo aw_tests_<name>[] in tests/test_<name>.c; AW_SUITE_FIXTURE
 * also int aw_<name>_suite_init(void) and aw_<name>_suite_clean(void). */
AW_SUITE(op)
AW_SUITE(loop)
AW_SUITE(op_loop)
AW_SUITE(threads)
AW_SUITE(pool)
AW_SUITE(pool_abandon)
AW_SUITE(lookup)
AW_SUITE_FIXTURE(sqlite)
AW_SUITE(checkpoint)
AW_SUITE_FIXTURE(checkpoint_file)
AW_SUITE_FIXTURE(mysql)
AW_SUITE(core_order)
AW_SUITE(core_api)
AW_SUITE(core_calls)
AW_SUITE(timer)
AW_SUITE(retry)
