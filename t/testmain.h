/*
 * testmain.h - the one main of the Check test programs of t/ (testmain.c):
 * it runs the suite the program's test_suite() returns, with Check's
 * CK_ENV verbosity, and exits 0 when every test passed, else 1.
 */
#ifndef SPRING_TESTMAIN_H
#define SPRING_TESTMAIN_H

#include <check.h>

/* The program's suite.  Each program linking testmain.c defines it; main
 * calls it once, before any test runs (and before Check forks a test), so
 * it is also where a program sets up what all its tests share (the HAT
 * the test VMMs use, the environment). */
Suite *test_suite(void);

#endif
