// Test entry point for the core tests. With Qt Test available (every developer and CI
// machine) the tests are plain Qt Test executables. On machines without Qt (the
// accelerator box builds core, CLI and core tests only), the same files compile against
// qtest_compat.h, a small runner with the same macros; cmake/IgpgTest.cmake generates
// the list of test slots it calls.
#pragma once

#if IGPG_HAVE_QTTEST
#include <QtTest/QtTest>
#define IGPG_TEST_MAIN(Class) QTEST_APPLESS_MAIN(Class)
#else
#include "qtest_compat.h"
#endif

#include "test_paths.h"
