#include "evaluation/statistics.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace igpg::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void requireSameLength(const std::vector<double>& x, const std::vector<double>& y, const char* what) {
  if (x.size() != y.size())
    fail(ErrorKind::Mismatch, what,
         "x has " + std::to_string(x.size()) + " values but y has " + std::to_string(y.size()));
}

// Centred sums of squares and products; two passes keep them accurate when the values
// sit far from zero with a small spread (accuracies of 0.91 +- 0.001, say).
struct Moments {
  double meanX = 0, meanY = 0, sxx = 0, syy = 0, sxy = 0;
};

Moments moments(const std::vector<double>& x, const std::vector<double>& y) {
  Moments m;
  m.meanX = mean(x);
  m.meanY = mean(y);
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - m.meanX, dy = y[i] - m.meanY;
    m.sxx += dx * dx;
    m.syy += dy * dy;
    m.sxy += dx * dy;
  }
  return m;
}

double correlation(const Moments& m) {
  if (m.sxx <= 0 || m.syy <= 0) return kNaN;
  // Rounding can push |r| a hair past 1 for perfectly collinear data.
  return std::clamp(m.sxy / std::sqrt(m.sxx * m.syy), -1.0, 1.0);
}

}  // namespace

double mean(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double standardDeviation(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  if (values.size() == 1) return 0;
  const double m = mean(values);
  double ss = 0;
  for (double v : values) ss += (v - m) * (v - m);
  return std::sqrt(ss / static_cast<double>(values.size() - 1));
}

double standardError(const std::vector<double>& population, size_t draws) {
  if (draws == 0) return kNaN;
  return standardDeviation(population) / std::sqrt(static_cast<double>(draws));
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  requireSameLength(x, y, "pearson");
  if (x.size() < 2) return kNaN;
  return correlation(moments(x, y));
}

LinearFit linearFit(const std::vector<double>& x, const std::vector<double>& y) {
  requireSameLength(x, y, "linear fit");
  if (x.size() < 2)
    fail(ErrorKind::Config, "linear fit", "needs at least two points, got " + std::to_string(x.size()));
  const Moments m = moments(x, y);
  if (!(m.sxx > 0)) fail(ErrorKind::Config, "linear fit", "all x values are equal; the slope is undefined");
  LinearFit fit;
  fit.slope = m.sxy / m.sxx;
  fit.intercept = m.meanY - fit.slope * m.meanX;
  fit.r = correlation(m);
  fit.count = x.size();
  return fit;
}

std::vector<double> exponentialMovingAverage(const std::vector<double>& values, double weight) {
  if (!(weight >= 0 && weight < 1))
    fail(ErrorKind::Config, "smoothing", "weight must be in [0, 1), got " + std::to_string(weight));
  std::vector<double> out(values.size());
  double last = 0, norm = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    norm = norm * weight + (1 - weight);
    out[i] = last / norm;
  }
  return out;
}

double perplexity(const std::vector<double>& counts) {
  double total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (!(counts[i] >= 0) || !std::isfinite(counts[i]))
      fail(ErrorKind::Config, "code " + std::to_string(i), "usage counts must be finite and non-negative");
    total += counts[i];
  }
  if (total <= 0) return kNaN;
  double entropy = 0;
  for (double c : counts) {
    if (c > 0) {
      const double p = c / total;
      entropy -= p * std::log(p);
    }
  }
  return std::exp(entropy);
}

size_t deadCodes(const std::vector<double>& counts) {
  size_t dead = 0;
  for (double c : counts) dead += (c == 0);
  return dead;
}

HistogramBins commonBins(const std::vector<const std::vector<float>*>& inputs, int count) {
  if (count < 1) fail(ErrorKind::Config, "histogram", "needs at least one bin, got " + std::to_string(count));
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* values : inputs) {
    for (float v : *values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, double(v));
      hi = std::max(hi, double(v));
    }
  }
  if (lo > hi) fail(ErrorKind::Config, "histogram", "no finite values to bin");
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  return HistogramBins{lo, hi, count};
}

HistogramCounts histogramCounts(const std::vector<float>& values, const HistogramBins& bins) {
  if (bins.count < 1 || !(bins.hi > bins.lo))
    fail(ErrorKind::Config, "histogram", "bins need count >= 1 and hi > lo");
  HistogramCounts h;
  h.counts.assign(static_cast<size_t>(bins.count), 0.0);
  const double scale = bins.count / (bins.hi - bins.lo);
  for (float f : values) {
    const double v = f;
    if (!std::isfinite(v)) {
      ++h.nonFinite;
      continue;
    }
    if (v < bins.lo || v > bins.hi) {
      ++h.outside;
      continue;
    }
    const auto i = std::min(static_cast<int>((v - bins.lo) * scale), bins.count - 1);
    h.counts[static_cast<size_t>(i)] += 1;
  }
  return h;
}

}  // namespace igpg::stats
