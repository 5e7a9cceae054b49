#include "evaluation/plot_spec.h"

#include "common/error.h"
#include "evaluation/csv.h"
#include "evaluation/statistics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace igpg {

namespace {

std::string seriesWhere(const PlotSpec& spec, size_t i) {
  return "plot '" + spec.title + "' series '" + spec.series[i].name + "'";
}

template <typename... Args>
std::string format(const char* pattern, Args... args) {
  std::string text(static_cast<size_t>(std::snprintf(nullptr, 0, pattern, args...)), '\0');
  std::snprintf(text.data(), text.size() + 1, pattern, args...);
  return text;
}

// Header lines are comments; a line break inside a title must not end the comment.
std::string oneLine(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

const char* kindName(PlotKind kind) {
  switch (kind) {
    case PlotKind::Curves: return "curves";
    case PlotKind::Scatter: return "scatter";
    case PlotKind::Histogram: return "histogram";
    case PlotKind::Bars: return "bars";
  }
  return "?";
}

// "81.7 ± 1.3": the standard deviation to two significant digits and the mean to the
// same decimal place, so neither claims more precision than the other.
std::string meanStdText(double mean, double stddev) {
  if (!(stddev > 0) || !std::isfinite(stddev)) return format("%.4g \xC2\xB1 %g", mean, stddev);
  const int decimals = std::max(0, 1 - static_cast<int>(std::floor(std::log10(stddev))));
  return format("%.*f \xC2\xB1 %.*f", decimals, mean, decimals, stddev);
}

std::vector<double> indices(size_t n) {
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i);
  return x;
}

}  // namespace

void validatePlotSpec(const PlotSpec& spec) {
  const std::string plotWhere = "plot '" + spec.title + "'";
  if (!(spec.smoothing >= 0 && spec.smoothing < 1))
    fail(ErrorKind::Config, plotWhere, "smoothing must be in [0, 1)");
  if (!(spec.barWidth >= 0)) fail(ErrorKind::Config, plotWhere, "bar width must be >= 0");
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const PlotSeries& s = spec.series[i];
    const std::string where = seriesWhere(spec, i);
    if (s.x.size() != s.y.size())
      fail(ErrorKind::Mismatch, where,
           std::to_string(s.x.size()) + " x values but " + std::to_string(s.y.size()) + " y values");
    if (!s.yError.empty() && s.yError.size() != s.y.size())
      fail(ErrorKind::Mismatch, where,
           std::to_string(s.yError.size()) + " error bars for " + std::to_string(s.y.size()) + " points");
    if (!s.pointLabels.empty() && s.pointLabels.size() != s.y.size())
      fail(ErrorKind::Mismatch, where,
           std::to_string(s.pointLabels.size()) + " point labels for " + std::to_string(s.y.size()) + " points");
    if (s.color < -1) fail(ErrorKind::Config, where, "colour slot must be >= 0, or -1 for automatic");
    if (s.smoothedFrom >= 0) {
      const auto from = static_cast<size_t>(s.smoothedFrom);
      if (from >= spec.series.size() || from == i || spec.series[from].smoothedFrom >= 0)
        fail(ErrorKind::Config, where, "smoothedFrom must name another, raw series");
      if (spec.series[from].y.size() != s.y.size())
        fail(ErrorKind::Mismatch, where, "has a different length than the series it smooths");
    }
    if ((s.style == SeriesStyle::Bars || s.style == SeriesStyle::Step) && !(spec.barWidth > 0))
      fail(ErrorKind::Config, where, "bars and histogram steps need a bar width > 0");
  }
}

bool hasSmoothedSeries(const PlotSpec& spec) {
  for (const auto& s : spec.series)
    if (s.smoothedFrom >= 0) return true;
  return false;
}

void setSmoothing(PlotSpec& spec, double weight) {
  validatePlotSpec(spec);
  for (auto& s : spec.series) {
    if (s.smoothedFrom < 0) continue;
    const PlotSeries& raw = spec.series[static_cast<size_t>(s.smoothedFrom)];
    s.x = raw.x;
    s.y = stats::exponentialMovingAverage(raw.y, weight);
  }
  spec.smoothing = weight;
}

std::string plotSpecToCsv(const PlotSpec& spec) {
  validatePlotSpec(spec);
  std::string out;
  out += "# title: " + oneLine(spec.title) + "\n";
  out += std::string("# kind: ") + kindName(spec.kind) + "\n";
  out += "# x: " + oneLine(spec.xLabel) + "\n";
  out += "# y: " + oneLine(spec.yLabel) + (spec.logY ? " (log scale)" : "") + "\n";
  if (hasSmoothedSeries(spec)) out += "# smoothing: " + exactNumber(spec.smoothing) + "\n";
  if (spec.barWidth > 0) out += "# bar width: " + exactNumber(spec.barWidth) + "\n";
  for (const auto& m : spec.metrics) out += "# metric " + oneLine(m.name) + ": " + exactNumber(m.value) + "\n";
  for (const auto& l : spec.lines)
    out += "# line " + oneLine(l.label) + ": slope " + exactNumber(l.slope) + ", intercept " +
           exactNumber(l.intercept) + "\n";
  for (const auto& a : spec.annotations) out += "# note: " + oneLine(a) + "\n";
  out += "series,x,y,y_error,label\n";
  for (const auto& s : spec.series) {
    const std::string name = csvField(s.name);
    for (size_t i = 0; i < s.x.size(); ++i) {
      out += name + "," + exactNumber(s.x[i]) + "," + exactNumber(s.y[i]) + ",";
      if (!s.yError.empty()) out += exactNumber(s.yError[i]);
      out += ",";
      if (!s.pointLabels.empty()) out += csvField(s.pointLabels[i]);
      out += "\n";
    }
  }
  return out;
}

PlotSpec trainingCurves(const std::string& title, const std::string& xLabel, const std::string& yLabel,
                        const std::vector<CurveData>& curves, double smoothing) {
  PlotSpec spec;
  spec.kind = PlotKind::Curves;
  spec.title = title;
  spec.xLabel = xLabel;
  spec.yLabel = yLabel;
  // Raw curves first so that they are drawn underneath every smoothed one.
  for (size_t i = 0; i < curves.size(); ++i) {
    PlotSeries raw;
    raw.name = curves[i].name + " (raw)";
    raw.x = curves[i].x;
    raw.y = curves[i].y;
    raw.color = static_cast<int>(i);
    raw.faded = true;
    raw.inLegend = false;
    spec.series.push_back(std::move(raw));
  }
  for (size_t i = 0; i < curves.size(); ++i) {
    PlotSeries smooth;
    smooth.name = curves[i].name;
    smooth.color = static_cast<int>(i);
    smooth.smoothedFrom = static_cast<int>(i);
    smooth.x = curves[i].x;
    smooth.y.resize(curves[i].y.size());
    spec.series.push_back(std::move(smooth));
  }
  setSmoothing(spec, smoothing);
  return spec;
}

PlotSpec accuracyScatter(const std::string& title, const std::vector<double>& pretrained,
                         const std::vector<double>& generated, const std::vector<std::string>& labels) {
  PlotSpec spec;
  spec.kind = PlotKind::Scatter;
  spec.title = title;
  spec.xLabel = "Accuracy of pretrained weights";
  spec.yLabel = "Accuracy of generated weights";
  spec.sameRangeXY = true;
  PlotSeries points;
  points.name = "models";
  points.x = pretrained;
  points.y = generated;
  points.pointLabels = labels;
  points.style = SeriesStyle::Points;
  points.color = 0;
  spec.series.push_back(std::move(points));
  validatePlotSpec(spec);

  spec.lines.push_back(ReferenceLine{"y = x", 1, 0, true, -1});
  const double r = stats::pearson(pretrained, generated);
  spec.metrics.push_back({"pearson_r", r});
  spec.metrics.push_back({"models", static_cast<double>(pretrained.size())});
  if (std::isnan(r)) {
    spec.annotations.push_back(format("Pearson r undefined (n = %zu)", pretrained.size()));
  } else {
    spec.annotations.push_back(format("Pearson r = %.4f (n = %zu)", r, pretrained.size()));
  }
  // A constant x (every model at the same accuracy) has no regression line; the plot
  // still shows the points and says so rather than failing the whole report.
  if (pretrained.size() >= 2 && stats::standardDeviation(pretrained) > 0) {
    const stats::LinearFit fit = stats::linearFit(pretrained, generated);
    spec.metrics.push_back({"fit_slope", fit.slope});
    spec.metrics.push_back({"fit_intercept", fit.intercept});
    const std::string label = format("least squares: y = %.4g x %c %.4g", fit.slope,
                                     fit.intercept < 0 ? '-' : '+', std::fabs(fit.intercept));
    spec.lines.push_back(ReferenceLine{label, fit.slope, fit.intercept, false, 1});
  } else {
    spec.annotations.push_back("no regression line: the pretrained accuracies do not vary");
  }
  return spec;
}

PlotSpec histogram(const std::string& title, const std::string& xLabel, const std::vector<ValueSet>& sets,
                   const HistogramOptions& options) {
  stats::HistogramBins bins;
  if (options.range) {
    bins = stats::HistogramBins{options.range->first, options.range->second, options.bins};
    if (!(bins.hi > bins.lo) || !std::isfinite(bins.lo) || !std::isfinite(bins.hi) || bins.count < 1)
      fail(ErrorKind::Config, "histogram '" + title + "'", "range needs finite low < high and at least one bin");
  } else {
    std::vector<const std::vector<float>*> inputs;
    for (const auto& s : sets) inputs.push_back(&s.values);
    bins = stats::commonBins(inputs, options.bins);
  }

  PlotSpec spec;
  spec.kind = PlotKind::Histogram;
  spec.title = title;
  spec.xLabel = xLabel;
  spec.yLabel = options.density ? "Density" : "Count";
  spec.barWidth = bins.width();
  spec.metrics.push_back({"bins", static_cast<double>(bins.count)});
  spec.metrics.push_back({"range_low", bins.lo});
  spec.metrics.push_back({"range_high", bins.hi});
  for (size_t k = 0; k < sets.size(); ++k) {
    const stats::HistogramCounts h = stats::histogramCounts(sets[k].values, bins);
    const size_t binned = sets[k].values.size() - h.nonFinite - h.outside;
    PlotSeries s;
    s.name = sets[k].name;
    s.style = SeriesStyle::Step;
    s.color = static_cast<int>(k);
    for (int i = 0; i < bins.count; ++i) {
      s.x.push_back(bins.center(i));
      const double c = h.counts[static_cast<size_t>(i)];
      s.y.push_back(options.density && binned > 0 ? c / (static_cast<double>(binned) * bins.width()) : c);
    }
    spec.metrics.push_back({sets[k].name + " values", static_cast<double>(binned)});
    if (h.outside > 0) {
      spec.metrics.push_back({sets[k].name + " outside range", static_cast<double>(h.outside)});
      spec.annotations.push_back(format("%s: %zu values outside [%g, %g] not shown", sets[k].name.c_str(), h.outside,
                                        bins.lo, bins.hi));
    }
    if (h.nonFinite > 0) {
      spec.metrics.push_back({sets[k].name + " non-finite", static_cast<double>(h.nonFinite)});
      spec.annotations.push_back(format("%s: %zu non-finite values not shown", sets[k].name.c_str(), h.nonFinite));
    }
    spec.series.push_back(std::move(s));
  }
  return spec;
}

PlotSpec codebookUsage(const std::string& title, const std::vector<double>& counts) {
  const double ppl = stats::perplexity(counts);
  const size_t dead = stats::deadCodes(counts);
  double total = 0;
  for (double c : counts) total += c;

  PlotSpec spec;
  spec.kind = PlotKind::Bars;
  spec.title = title;
  spec.xLabel = "Code index";
  spec.yLabel = "Share of tokens";
  spec.barWidth = 1;
  PlotSeries usage;
  usage.name = "code usage";
  usage.style = SeriesStyle::Bars;
  usage.color = 0;
  usage.x = indices(counts.size());
  for (double c : counts) usage.y.push_back(total > 0 ? c / total : 0.0);
  spec.series.push_back(std::move(usage));

  spec.metrics.push_back({"codebook_size", static_cast<double>(counts.size())});
  spec.metrics.push_back({"tokens", total});
  spec.metrics.push_back({"perplexity", ppl});
  spec.metrics.push_back({"dead_codes", static_cast<double>(dead)});
  const double deadShare = counts.empty() ? 0.0 : 100.0 * static_cast<double>(dead) / static_cast<double>(counts.size());
  spec.annotations.push_back(format("perplexity %.1f of %zu codes, dead codes %zu (%.1f%%), %.0f tokens", ppl,
                                    counts.size(), dead, deadShare, total));
  return spec;
}

PlotSpec fineTuningCurves(const std::string& title, const std::string& yLabel, const std::vector<double>& epochs,
                          const std::vector<RepeatedRuns>& methods) {
  PlotSpec spec;
  spec.kind = PlotKind::Curves;
  spec.title = title;
  spec.xLabel = "Epoch";
  spec.yLabel = yLabel;
  for (size_t k = 0; k < methods.size(); ++k) {
    const RepeatedRuns& m = methods[k];
    if (m.runs.empty()) fail(ErrorKind::Config, "method '" + m.name + "'", "has no runs");
    for (size_t r = 0; r < m.runs.size(); ++r)
      if (m.runs[r].size() != epochs.size())
        fail(ErrorKind::Mismatch, "method '" + m.name + "' run " + std::to_string(r),
             std::to_string(m.runs[r].size()) + " values for " + std::to_string(epochs.size()) + " epochs");
    PlotSeries s;
    s.name = m.name;
    s.style = SeriesStyle::LinePoints;
    s.color = static_cast<int>(k);
    s.x = epochs;
    for (size_t e = 0; e < epochs.size(); ++e) {
      std::vector<double> atEpoch;
      for (const auto& run : m.runs) atEpoch.push_back(run[e]);
      s.y.push_back(stats::mean(atEpoch));
      s.yError.push_back(stats::standardDeviation(atEpoch));
    }
    if (!epochs.empty()) {
      spec.metrics.push_back({m.name + " final mean", s.y.back()});
      spec.metrics.push_back({m.name + " final std", s.yError.back()});
      spec.annotations.push_back(format("%s: %s at epoch %g (%zu runs)", m.name.c_str(),
                                        meanStdText(s.y.back(), s.yError.back()).c_str(), epochs.back(),
                                        m.runs.size()));
    }
    spec.series.push_back(std::move(s));
  }
  return spec;
}

}  // namespace igpg
