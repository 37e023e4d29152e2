/* testpager.h - springvm test-pager (testpager.c) and new-pager (newpager.c). */
#ifndef SPRINGVM_TESTPAGER_H
#define SPRINGVM_TESTPAGER_H

/* Run the test on the arguments after "test-pager"; the exit status. */
int springvm_test_pager(int argc, char **argv);

/* springvm new-pager NAME (newpager.c); the exit status. */
int springvm_new_pager(int argc, char **argv);

#endif
