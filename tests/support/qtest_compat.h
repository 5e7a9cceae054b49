// The subset of Qt Test used by the core tests, for builds without Qt. Failures throw,
// the runner reports them in Qt Test's format and exits non-zero, as Qt Test does.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <type_traits>

class QObject {};
#define Q_OBJECT friend struct IgpgTestRunner;
#define slots

namespace qtest_compat {

struct Failure {
  std::string message;
};
struct Skip {
  std::string message;
};
struct ExpectedFailure {
  std::string message;
};

// QEXPECT_FAIL: the next failing check of the current test function is a known failure
// (reported XFAIL, the function ends there); no failure at all is reported XPASS, a
// failure, so that a fixed bug gets its mark removed.
inline std::string& expectedFailureComment() {
  static std::string comment;
  return comment;
}
inline void expectFail(const std::string& comment) { expectedFailureComment() = comment; }

template <typename T, typename = void>
struct Printable : std::false_type {};
template <typename T>
struct Printable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

template <typename T>
std::string show(const T& value) {
  if constexpr (Printable<T>::value) {
    std::ostringstream s;
    s << value;
    return s.str();
  } else {
    return "<value>";
  }
}

inline bool fuzzyEqual(double a, double b) {
  if (a == 0 || b == 0) return std::fabs(a - b) <= 1e-12;
  return std::fabs(a - b) * 1e12 <= std::min(std::fabs(a), std::fabs(b));
}
inline bool fuzzyEqual(float a, float b) {
  if (a == 0 || b == 0) return std::fabs(a - b) <= 1e-5f;
  return std::fabs(a - b) * 100000.f <= std::min(std::fabs(a), std::fabs(b));
}

template <typename A, typename B>
bool equal(const A& a, const B& b) {
  if constexpr (std::is_floating_point_v<A> && std::is_floating_point_v<B>) {
    using C = std::common_type_t<A, B>;
    return fuzzyEqual(static_cast<C>(a), static_cast<C>(b));
  } else {
    return a == b;
  }
}

[[noreturn]] inline void failAt(const std::string& what, const char* file, int line) {
  std::ostringstream s;
  s << what << "\n   Loc: [" << file << "(" << line << ")]";
  if (!expectedFailureComment().empty()) throw ExpectedFailure{expectedFailureComment() + "\n   " + s.str()};
  throw Failure{s.str()};
}

class Runner {
 public:
  explicit Runner(const char* name) : name_(name) {
    std::printf("********* Start testing of %s *********\n", name_);
  }
  // As in Qt Test, test functions do not run once initTestCase has failed or skipped;
  // cleanupTestCase still does.
  void run(const char* slot, const std::function<void()>& body) {
    const std::string name = slot;
    if (!initPassed_ && name != "initTestCase" && name != "cleanupTestCase") return;
    const int failedBefore = failed_, skippedBefore = skipped_;
    runSlot(slot, body);
    if (name == "initTestCase") initPassed_ = failed_ == failedBefore && skipped_ == skippedBefore;
  }
  int finish() const {
    std::printf("Totals: %d passed, %d failed, %d skipped\n********* Finished testing of %s *********\n",
                passed_, failed_, skipped_, name_);
    return failed_;
  }

 private:
  void runSlot(const char* slot, const std::function<void()>& body) {
    expectedFailureComment().clear();
    try {
      body();
      if (!expectedFailureComment().empty()) {
        std::printf("XPASS  : %s::%s() %s\n", name_, slot, expectedFailureComment().c_str());
        ++failed_;
      } else {
        std::printf("PASS   : %s::%s()\n", name_, slot);
        ++passed_;
      }
    } catch (const ExpectedFailure& f) {
      std::printf("XFAIL  : %s::%s() %s\n", name_, slot, f.message.c_str());
      ++passed_;
    } catch (const Failure& f) {
      std::printf("FAIL!  : %s::%s() %s\n", name_, slot, f.message.c_str());
      ++failed_;
    } catch (const Skip& s) {
      std::printf("SKIP   : %s::%s() %s\n", name_, slot, s.message.c_str());
      ++skipped_;
    } catch (const std::exception& e) {
      std::printf("FAIL!  : %s::%s() Caught unhandled exception: %s\n", name_, slot, e.what());
      ++failed_;
    }
    std::fflush(stdout);
  }

  const char* name_;
  int passed_ = 0, failed_ = 0, skipped_ = 0;
  bool initPassed_ = true;
};

}  // namespace qtest_compat

#define QVERIFY(cond) \
  do { if (!(cond)) qtest_compat::failAt("'" #cond "' returned FALSE.", __FILE__, __LINE__); } while (0)
#define QVERIFY2(cond, msg) \
  do { if (!(cond)) qtest_compat::failAt(std::string("'" #cond "' returned FALSE. (") + (msg) + ")", __FILE__, __LINE__); } while (0)
// The values are copied: a reference to a member of a temporary ("f()->id") would dangle.
#define QCOMPARE(actual, expected)                                                           \
  do {                                                                                       \
    const auto igpg_a = (actual);                                                            \
    const auto igpg_e = (expected);                                                          \
    if (!qtest_compat::equal(igpg_a, igpg_e))                                                \
      qtest_compat::failAt(std::string("Compared values are not the same\n   Actual   (" #actual "): ") + \
                               qtest_compat::show(igpg_a) + "\n   Expected (" #expected "): " + \
                               qtest_compat::show(igpg_e), __FILE__, __LINE__);              \
  } while (0)
#define QFAIL(msg) qtest_compat::failAt(msg, __FILE__, __LINE__)
#define QEXPECT_FAIL(dataIndex, comment, mode) qtest_compat::expectFail(comment)
#define QSKIP(msg) throw qtest_compat::Skip{msg}
#define QVERIFY_THROWS_EXCEPTION(type, ...)                                                  \
  do {                                                                                       \
    bool igpg_thrown = false;                                                                \
    try { __VA_ARGS__; } catch (const type&) { igpg_thrown = true; }                         \
    if (!igpg_thrown) qtest_compat::failAt("Expected exception of type " #type " to be thrown", __FILE__, __LINE__); \
  } while (0)

// IGPG_TEST_SLOTS(runner, object) comes from the header that cmake/IgpgTest.cmake
// generates for each test from its `private slots:` section.
#include "igpg_test_slots.h"
#define IGPG_TEST_MAIN(Class)                             \
  struct IgpgTestRunner {                                 \
    static int run() {                                    \
      Class object;                                       \
      qtest_compat::Runner runner(#Class);                \
      IGPG_TEST_SLOTS(runner, object)                     \
      return runner.finish();                             \
    }                                                     \
  };                                                      \
  int main() { return IgpgTestRunner::run(); }
