/* placeholder */
#ifndef SPRING_TEST_MODEL_H
#define SPRING_TEST_MODEL_H
#endif
