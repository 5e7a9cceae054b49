#include "training/lr_schedule.h"

#include "common/error.h"

#include <cmath>

namespace igpg {

const char* lrScheduleName(LrSchedule schedule) {
  return schedule == LrSchedule::Cosine ? "cosine" : "constant";
}

LrSchedule parseLrSchedule(const std::string& name) {
  if (name == "constant") return LrSchedule::Constant;
  if (name == "cosine") return LrSchedule::Cosine;
  fail(ErrorKind::Config, "lr_schedule", "unknown schedule '" + name + "' (constant or cosine)");
}

double cosineAnnealing(double start, double end, int64_t step, int64_t totalSteps) {
  if (totalSteps <= 0) return end;
  const double t = std::min(1.0, double(step) / double(totalSteps));
  return end + 0.5 * (start - end) * (1 + std::cos(M_PI * t));
}

double lrScale(LrSchedule schedule, int64_t step, int64_t totalSteps) {
  return schedule == LrSchedule::Cosine ? cosineAnnealing(1.0, 0.0, step, totalSteps) : 1.0;
}

}  // namespace igpg
