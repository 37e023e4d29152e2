/* testmain.c - main of the Check test programs of t/ (testmain.h). */
#include <check.h>

#include "testmain.h"

int main(void)
{
    SRunner *sr = srunner_create(test_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
