/* placeholder: being written */
#include <check.h>
#include "testlib.h"
int main(void) { return 0; }
