/* The C tests' assertion: count a failure, print where, keep going (the test's exit code is the count). */
#ifndef VPS_CORE_TEST_CHECK_H
#define VPS_CORE_TEST_CHECK_H

#include <stdio.h>

static int failures = 0;
#define CHECK(cond)                                                               \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
      ++failures;                                                                 \
    }                                                                             \
  } while (0)

#endif
