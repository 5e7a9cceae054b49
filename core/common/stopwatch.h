// Wall time since a steady_clock point, in seconds: what jobs report as their duration.
#pragma once

#include <chrono>

namespace igpg {

inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace igpg
