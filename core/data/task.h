// Derived tasks: a base dataset with a class subset and image transforms, named by one
// readable syntax that the zoo, the catalogue and the command line share.
//
//   NAME     := BASE | BASE '[' MODIFIER (';' MODIFIER)* ']'
//   BASE     := a built-in or imported dataset: a letter or digit, then letters, digits, . _ -
//   MODIFIER := classes=C1,C2,...   keep these base classes, relabelled 0,1,... in the listed
//                                   order (at least two, no repeats)
//             | rot90 | rot180 | rot270   a quarter, half or three-quarter turn counter-clockwise
//             | hflip                     mirror left-right
//             | invert                    pixel -> 1 - pixel (in [0, 1], before normalization)
//
// Transforms apply left to right; spaces around tokens are ignored and keywords are
// case-insensitive. Examples: "fashion-mnist[classes=0,2,4,6,8]", "digits[classes=0,1,2;rot90]".
//
// Canonical form, so that two spellings of one task share one name and one hash: no
// spaces, lower-case keywords, classes first (in the given order, which is the labelling),
// then the rotations and flips reduced to the one symmetry of the square they amount to,
// spelled "hflip" (if it includes a mirror) then "rot90|rot180|rot270", then "invert" if
// it was asked an odd number of times. Modifiers that cancel disappear:
//   "digits[ rot90; classes = 0, 1,2 ; HFLIP ]" -> "digits[classes=0,1,2;hflip;rot270]"
//   "digits[hflip;hflip]"                       -> "digits"
// A class list naming every class in order is kept as written (canonicalization needs no
// knowledge of the base).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

struct TaskSpec {
  std::string base;
  std::vector<int64_t> classes;  // empty: every class of the base, labels unchanged
  // The geometric transform as one symmetry of the square: mirror first (if mirrored),
  // then `quarterTurns` counter-clockwise quarter turns (0..3).
  bool mirrored = false;
  int quarterTurns = 0;
  bool inverted = false;

  bool derived() const;
  bool transformsImages() const { return mirrored || quarterTurns != 0 || inverted; }
  // "classes=0,1,2;hflip;rot270" (empty when not derived) and "digits[...]".
  std::string canonicalModifiers() const;
  std::string canonicalName() const;
  // The canonical transforms as a list, e.g. ["hflip", "rot270"].
  std::vector<std::string> transformNames() const;
};

// Throws Error(Usage) naming the offending part for a malformed name.
TaskSpec parseTaskName(const std::string& name);
std::string canonicalDatasetName(const std::string& name);

// Whether `name` can name a base dataset (see BASE above).
bool isValidBaseName(const std::string& name);

// The spec's transforms on normalized images (N, C, H, W): mirror and turns, then invert,
// which needs the base's per-channel normalization: (1 - x - m)/s = (1 - 2m)/s - z for
// z = (x - m)/s. Returns the images themselves when the spec transforms nothing.
torch::Tensor applyTaskTransforms(const torch::Tensor& images, const TaskSpec& spec, const std::vector<double>& mean,
                                  const std::vector<double>& std);

}  // namespace igpg
