#include "common/heap_memory.h"

#include <climits>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace igpg {

namespace {

std::mutex mutex;
int users = 0;

}  // namespace

KeepFreedMemory::KeepFreedMemory() {
  std::lock_guard<std::mutex> lock(mutex);
#if defined(__GLIBC__)
  if (users++ == 0) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  }
#endif
}

KeepFreedMemory::~KeepFreedMemory() {
  std::lock_guard<std::mutex> lock(mutex);
#if defined(__GLIBC__)
  if (--users == 0) {
    // Any mallopt() stops glibc from adapting its thresholds for the rest of the process,
    // so they are set to what it adapts them to after large frees. Its initial 128 KiB
    // would make every later large block a fresh mmap() and every free a trim: trained
    // after the zoo in one process, the demo's tokenizer faulted 100,000 pages a second
    // (220.5 s; 170.9 s without), and the whole demo took 515.0 s instead of 405.1.
    mallopt(M_MMAP_MAX, 65536);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    malloc_trim(0);
  }
#endif
}

}  // namespace igpg
