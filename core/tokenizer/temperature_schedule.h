// Cyclical temperature schedule for the Gumbel-softmax (paper appendix A.1: annealing tau
// from 1 to 1e-4). Each cycle decays tau geometrically from tauMax to tauMin over its
// first `annealFraction`, then holds tauMin, so that every cycle ends with the decoder
// trained on (near) hard codes, as used at inference; the last cycle ends the training.
#pragma once

#include <cstdint>

namespace igpg {

struct TemperatureSchedule {
  double tauMax = 1.0;
  double tauMin = 1e-4;
  int64_t totalSteps = 1;
  int64_t cycles = 4;
  double annealFraction = 0.8;

  double at(int64_t step) const;
};

}  // namespace igpg
