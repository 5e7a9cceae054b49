// Learning-rate schedules shared by the zoo builder's trainer and the tokenizer.
#pragma once

#include <cstdint>
#include <string>

namespace igpg {

enum class LrSchedule {
  Constant,
  // PyTorch's CosineAnnealingLR stepped every minibatch with T_max = all steps of the
  // run and eta_min 0: the last epochs take ever smaller steps, so the checkpoints a
  // zoo keeps from them are converged networks rather than snapshots of a still-moving
  // run.
  Cosine,
};

const char* lrScheduleName(LrSchedule schedule);      // "constant", "cosine"
LrSchedule parseLrSchedule(const std::string& name);  // Error(Config) naming "lr_schedule"

// start at step 0, end at step totalSteps, half a cosine in between.
double cosineAnnealing(double start, double end, int64_t step, int64_t totalSteps);

// Multiplier of the base learning rate before the step numbered `step` (0-based) of a
// run of totalSteps steps.
double lrScale(LrSchedule schedule, int64_t step, int64_t totalSteps);

}  // namespace igpg
