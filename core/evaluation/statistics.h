// Summary statistics behind the plots and the report tables: the same function computes
// a number whether it ends up in a figure annotation, a CSV or a table cell, so the
// report never shows two versions of one value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace igpg::stats {

// Arithmetic mean; NaN for an empty input.
double mean(const std::vector<double>& values);

// Sample standard deviation (n - 1 in the denominator, as numpy's ddof=1 and the error
// bars of papers over seeds); 0 for a single value, NaN for none.
double standardDeviation(const std::vector<double>& values);

// Standard error of the mean of `draws` values drawn at random from `population`: its
// sample standard deviation over sqrt(draws). NaN for no population or no draws.
double standardError(const std::vector<double>& population, size_t draws);

// Pearson correlation coefficient of paired samples. Throws Error(Mismatch) when the
// lengths differ; NaN when it is undefined (fewer than two pairs, or a constant side).
double pearson(const std::vector<double>& x, const std::vector<double>& y);

// Ordinary least-squares line y = slope * x + intercept.
struct LinearFit {
  double slope = 0;
  double intercept = 0;
  double r = 0;        // Pearson r of the same pairs
  size_t count = 0;    // pairs used
};
// Throws Error(Mismatch) when the lengths differ, Error(Config) when x has no spread
// (the slope is undefined) or fewer than two pairs are given.
LinearFit linearFit(const std::vector<double>& x, const std::vector<double>& y);

// Bias-corrected exponential moving average, as TensorBoard's smoothing slider:
// s_i = sum_j w^(i-j) v_j / sum_j w^(i-j). Unlike seeding the average with the first
// value, the start of the curve is not pulled towards one noisy sample. `weight` is in
// [0, 1): 0 returns the input. Non-finite values are passed through and skipped by the
// average, so a diverged step stays visible without poisoning the rest of the curve.
std::vector<double> exponentialMovingAverage(const std::vector<double>& values, double weight);

// Usage of a codebook from per-code counts: perplexity = exp(entropy of the usage
// distribution), i.e. the number of codes a uniform usage would need for the same
// entropy (K for uniform usage of K codes, 1 when one code takes every token).
// Throws Error(Config) for negative counts; NaN when every count is zero.
double perplexity(const std::vector<double>& counts);
// Codes that were never used.
size_t deadCodes(const std::vector<double>& counts);

// Equal-width bins over [lo, hi]; the last bin includes hi.
struct HistogramBins {
  double lo = 0;
  double hi = 1;
  int count = 10;
  double width() const { return (hi - lo) / count; }
  double center(int i) const { return lo + (i + 0.5) * width(); }
};

// Bins spanning the finite values of every input together, so that overlaid
// histograms share their bins; a constant input gets a unit-wide range around it.
// Throws Error(Config) when count < 1 or no input holds a finite value.
HistogramBins commonBins(const std::vector<const std::vector<float>*>& inputs, int count);

struct HistogramCounts {
  std::vector<double> counts;  // one per bin
  size_t outside = 0;          // finite values outside [lo, hi]
  size_t nonFinite = 0;        // NaN and infinities, never binned
};
HistogramCounts histogramCounts(const std::vector<float>& values, const HistogramBins& bins);

}  // namespace igpg::stats
