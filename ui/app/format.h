// How the studio writes numbers and tensors, in one place so every page agrees.
#pragma once

#include <torch/types.h>

#include <QString>

#include <cstdint>
#include <string>
#include <vector>

namespace igpg::ui {

// A fraction as a percentage with two decimals ("92.31"); an en dash for NaN.
QString percentText(double fraction);
// "1 model", "2,048 models": a count with the noun in the right number.
QString countText(int64_t count, const QString& singular, const QString& plural);
// A number with four significant digits, or an en dash for NaN.
QString numberText(double value);
// "64×3×3×3"; "scalar" for a 0-d tensor.
QString shapeText(const std::vector<int64_t>& shape);
// The catalogue's UTC ISO 8601 time as local time, "2025-01-31 13:00:00"; empty stays empty.
QString timeText(const std::string& isoUtc);
// "1.5 s", "3 min 20 s", "1 h 05 min".
QString durationText(double seconds);
// Every element of a tensor as float, for the histogram builders.
std::vector<float> tensorValues(const torch::Tensor& tensor);

}  // namespace igpg::ui
