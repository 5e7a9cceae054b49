#include "tokenizer/temperature_schedule.h"

#include <algorithm>
#include <cmath>

namespace igpg {

double TemperatureSchedule::at(int64_t step) const {
  const int64_t n = std::max<int64_t>(1, cycles);
  const double cycleLength = double(std::max<int64_t>(1, totalSteps)) / double(n);
  const double inCycle = std::fmod(double(std::clamp<int64_t>(step, 0, totalSteps - 1)), cycleLength) / cycleLength;
  const double progress = std::min(1.0, inCycle / std::max(1e-9, annealFraction));
  return tauMax * std::pow(tauMin / tauMax, progress);
}

}  // namespace igpg
