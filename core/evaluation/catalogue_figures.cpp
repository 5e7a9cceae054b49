#include "evaluation/catalogue_figures.h"

#include "common/error.h"
#include "evaluation/statistics.h"
#include "tokenizer/codebook_stats.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace igpg {

namespace {

// Splits one CSV line; double quotes enclose fields with commas, "" is a quote.
std::vector<std::string> csvFields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

double parseNumber(const std::string& text, const std::string& where) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  fail(ErrorKind::Format, where, "expected a number, got '" + text + "'");
}

// Pretrained: any model but the generated samples saved into the zoo.
bool isPretrained(const ModelRecord& m) { return m.source != "generated"; }

}  // namespace

PlotSpec codebookUsageOfRun(const RunRecord& run) {
  const std::string where = "run " + std::to_string(run.id);
  if (!run.summary.is_object() || !run.summary.contains("codebook") || !run.summary["codebook"].is_object())
    fail(ErrorKind::NotFound, where, "its summary has no codebook statistics (is it a finished tokenizer run?)");
  const CodebookStats stats = CodebookStats::fromJson(run.summary["codebook"]);
  if (stats.usage.empty()) fail(ErrorKind::NotFound, where, "its codebook statistics hold no usage counts");
  return codebookUsage("Codebook usage of run " + std::to_string(run.id) + (run.name.empty() ? "" : " (" + run.name + ")"),
                       std::vector<double>(stats.usage.begin(), stats.usage.end()));
}

std::vector<AccuracyPair> pairAccuracies(const std::vector<ModelRecord>& models,
                                         const std::vector<SampleRecord>& samples) {
  using Key = std::pair<std::string, std::string>;
  std::map<Key, std::pair<std::vector<double>, std::vector<double>>> byPair;  // pretrained, generated
  for (const auto& m : models)
    if (isPretrained(m) && !std::isnan(m.top1)) byPair[{m.architecture, m.dataset}].first.push_back(m.top1);
  for (const auto& s : samples)
    if (!std::isnan(s.top1)) byPair[{s.architecture, s.dataset}].second.push_back(s.top1);
  std::vector<AccuracyPair> pairs;
  for (const auto& [key, values] : byPair) {
    if (values.first.empty() || values.second.empty()) continue;
    pairs.push_back({key.first, key.second, stats::mean(values.first), stats::mean(values.second),
                     int64_t(values.first.size()), int64_t(values.second.size())});
  }
  return pairs;
}

PlotSpec pairedAccuracyScatter(const std::vector<AccuracyPair>& pairs) {
  std::vector<double> pretrained, generated;
  std::vector<std::string> labels;
  for (const auto& p : pairs) {
    pretrained.push_back(p.pretrained);
    generated.push_back(p.generated);
    labels.push_back(p.architecture + " / " + p.dataset + " (" + std::to_string(p.models) + " pretrained, " +
                     std::to_string(p.samples) + " generated)");
  }
  PlotSpec spec = accuracyScatter("Generated vs pretrained top-1 accuracy", pretrained, generated, labels);
  spec.series.front().name = "architecture / dataset";
  return spec;
}

PlotSpec accuracyHistogram(const std::string& title, const std::vector<ModelRecord>& models,
                           const std::vector<SampleRecord>& samples) {
  std::vector<float> pretrained, generated;
  for (const auto& m : models)
    if (isPretrained(m) && !std::isnan(m.top1)) pretrained.push_back(float(100 * m.top1));
  for (const auto& s : samples)
    if (!std::isnan(s.top1)) generated.push_back(float(100 * s.top1));
  std::vector<ValueSet> sets;
  if (!pretrained.empty())
    sets.push_back({"pretrained (" + std::to_string(pretrained.size()) + ")", std::move(pretrained)});
  if (!generated.empty()) sets.push_back({"generated (" + std::to_string(generated.size()) + ")", std::move(generated)});
  if (sets.empty()) fail(ErrorKind::Config, "accuracy histogram", "no model or sample has a top-1 accuracy");
  HistogramOptions options;
  options.bins = 20;
  options.density = false;
  return histogram(title, "top-1 accuracy (%)", sets, options);
}

std::vector<FineTuningRow> fineTuningRowsFromCsv(const std::string& text, const std::string& where) {
  std::istringstream in(text);
  std::string line;
  int64_t lineNumber = 0;
  int columns[4] = {-1, -1, -1, -1};  // method, seed, epoch, value
  const char* const names[4] = {"method", "seed", "epoch", "value"};
  bool header = false;
  std::vector<FineTuningRow> rows;
  while (std::getline(in, line)) {
    ++lineNumber;
    const std::string at = where + ":" + std::to_string(lineNumber);
    if (line.empty() || line == "\r" || line[0] == '#') continue;
    const auto fields = csvFields(line);
    if (!header) {
      for (size_t i = 0; i < fields.size(); ++i)
        for (int k = 0; k < 4; ++k)
          if (fields[i] == names[k]) columns[k] = int(i);
      for (int k = 0; k < 4; ++k)
        if (columns[k] < 0)
          fail(ErrorKind::Format, at, std::string("the header has no '") + names[k] +
                                          "' column (expected method,seed,epoch,value)");
      header = true;
      continue;
    }
    for (int k = 0; k < 4; ++k)
      if (columns[k] >= int(fields.size()))
        fail(ErrorKind::Format, at, std::string("the row has no '") + names[k] + "' field");
    FineTuningRow r;
    r.method = fields[size_t(columns[0])];
    if (r.method.empty()) fail(ErrorKind::Format, at, "the method is empty");
    r.curve = int64_t(parseNumber(fields[size_t(columns[1])], at + " seed"));
    r.epoch = parseNumber(fields[size_t(columns[2])], at + " epoch");
    r.value = parseNumber(fields[size_t(columns[3])], at + " value");
    rows.push_back(std::move(r));
  }
  if (!header) fail(ErrorKind::Format, where, "empty: expected a header method,seed,epoch,value and rows");
  return rows;
}

std::vector<FineTuningRow> fineTuningRowsOfRun(const RunRecord& run, const std::vector<MetricPoint>& metrics,
                                               const std::string& metric) {
  const std::string where = "run " + std::to_string(run.id);
  if (!run.config.is_object() || !run.config.contains("method") || !run.config["method"].is_string())
    fail(ErrorKind::Config, where, "its config names no fine-tuning method (\"method\": \"generated\" | \"scratch\" ...)");
  const std::string method = run.config["method"].get<std::string>();
  std::vector<FineTuningRow> rows;
  for (const auto& m : metrics)
    if (m.name == metric) rows.push_back({method, run.id, double(m.step), m.value});
  return rows;
}

PlotSpec layerDistribution(const std::string& title, const std::string& layer, const std::vector<StateDict>& pretrained,
                           const std::vector<StateDict>& generated) {
  auto pooled = [&](const std::vector<StateDict>& dicts, const char* side, const char* one, const char* many) {
    ValueSet set;
    size_t count = 0;
    for (const auto& d : dicts) {
      const torch::Tensor* t = d.find(layer);
      if (!t) continue;
      const torch::Tensor v = t->detach().to(torch::kCPU, torch::kFloat).contiguous().reshape({-1});
      set.values.insert(set.values.end(), v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
      ++count;
    }
    set.name = std::string(side) + " (" + std::to_string(count) + " " + (count == 1 ? one : many) + ")";
    return std::make_pair(set, count);
  };
  std::vector<ValueSet> sets;
  for (auto [set, count] : {pooled(pretrained, "pretrained", "model", "models"),
                            pooled(generated, "generated", "sample", "samples")})
    if (count > 0) sets.push_back(std::move(set));
  return histogram(title, "weight value", sets);
}

std::string fineTuningGroup(const RunRecord& run) {
  if (!run.config.is_object() || !run.config.contains("architecture") || !run.config["architecture"].is_string())
    return {};
  std::string group = run.config["architecture"].get<std::string>() + " / " + run.config.value("dataset", std::string("?"));
  if (run.config.contains("prior_run") && run.config["prior_run"].is_number_integer())
    group += ", prior run " + std::to_string(run.config["prior_run"].get<int64_t>());
  return group;
}

PlotSpec fineTuningFigure(const std::string& title, const std::string& yLabel, const std::vector<FineTuningRow>& rows) {
  // method -> curve -> epoch -> value, in the order methods first appear.
  std::vector<std::string> order;
  std::map<std::string, std::map<int64_t, std::map<double, double>>> runs;
  std::set<double> epochs;
  for (const auto& r : rows) {
    if (!runs.count(r.method)) order.push_back(r.method);
    runs[r.method][r.curve][r.epoch] = r.value;
    epochs.insert(r.epoch);
  }
  std::vector<RepeatedRuns> methods;
  for (const auto& name : order) {
    RepeatedRuns m{name, {}};
    for (const auto& [curve, values] : runs[name]) {
      std::vector<double> run;
      for (double e : epochs) {
        const auto it = values.find(e);
        if (it == values.end()) {
          std::ostringstream epoch;
          epoch << e;
          fail(ErrorKind::Mismatch, "method '" + name + "' curve " + std::to_string(curve),
               "has no value at epoch " + epoch.str() + " where other runs have one");
        }
        run.push_back(it->second);
      }
      m.runs.push_back(std::move(run));
    }
    methods.push_back(std::move(m));
  }
  return fineTuningCurves(title, yLabel, std::vector<double>(epochs.begin(), epochs.end()), methods);
}

}  // namespace igpg
