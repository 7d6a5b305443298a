/* The test runner: one CUnit registry built from tests/test_list.h.
 * Usage: run_tests [suite[,suite...]] */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>

#define AW_SUITE(name) extern CU_TestInfo aw_tests_##name[];
#define AW_SUITE_FIXTURE(name) AW_SUITE(name) \
    int aw_##name##_suite_init(void); int aw_##name##_suite_clean(void);
#include "test_list.h"
#undef AW_SUITE
#undef AW_SUITE_FIXTURE

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_SuiteInfo suites[] = {
#define AW_SUITE(name) { #name, NULL, NULL, NULL, NULL, aw_tests_##name },
#define AW_SUITE_FIXTURE(name) \
        { #name, aw_##name##_suite_init, aw_##name##_suite_clean, NULL, NULL, aw_tests_##name },
#include "test_list.h"
#undef AW_SUITE
#undef AW_SUITE_FIXTURE
        CU_SUITE_INFO_NULL
    };
    /* Every suite, or those the filter names, in test_list.h's order. */
    size_t n = sizeof suites / sizeof suites[0] - 1, k = 0;
    bool want[sizeof suites / sizeof suites[0]];
    for (size_t i = 0; i < n; i++) want[i] = !filter || !*filter;
    for (const char *p = filter ? filter : ""; *p; ) {
        size_t len = strcspn(p, ","), i = 0;
        while (i < n && !(strlen(suites[i].pName) == len && !strncmp(suites[i].pName, p, len))) i++;
        if (len && i == n) {
            fprintf(stderr, "no suite named '%.*s' (tests/test_list.h lists them)\n", (int)len, p);
            return 2;
        }
        if (i < n) want[i] = true;
        p += len + (p[len] == ',');
    }
    CU_SuiteInfo chosen[sizeof suites / sizeof suites[0]];
    for (size_t i = 0; i < n; i++)
        if (want[i]) chosen[k++] = suites[i];
    chosen[k] = (CU_SuiteInfo)CU_SUITE_INFO_NULL;
    if (k == 0) { fprintf(stderr, "no suite matches '%s'\n", filter); return 2; }
    if (CU_register_suites(chosen) != CUE_SUCCESS) return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    unsigned afailed = CU_get_number_of_failures();
    printf("\n%u passed, %u failed\n", ran - failed, failed);
    CU_cleanup_registry();
    return (failed || afailed) ? 1 : 0;
}
