// The figures of the studio's Analyze page, read off catalogue records: codebook usage of
// a tokenizer run, generated-vs-pretrained accuracy per architecture and dataset, and
// fine-tuning curves of repeated runs. The record-to-figure rules live here, once, so the
// studio and any report over the same catalogue draw the same numbers.
#pragma once

#include "catalogue/records.h"
#include "evaluation/plot_spec.h"
#include "formats/state_dict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

// Codebook usage of a tokenizer run, from its summary's "codebook" object
// (CodebookStats::toJson). Error(NotFound) naming the run when it has none.
PlotSpec codebookUsageOfRun(const RunRecord& run);

// Mean top-1 accuracy of the pretrained models (source other than "generated") and of the
// generated samples of one architecture and dataset. NaN accuracies are left out.
struct AccuracyPair {
  std::string architecture, dataset;
  double pretrained = 0, generated = 0;
  int64_t models = 0, samples = 0;
};
// One entry per pair that has both, ordered by architecture then dataset.
std::vector<AccuracyPair> pairAccuracies(const std::vector<ModelRecord>& models,
                                         const std::vector<SampleRecord>& samples);
// accuracyScatter over the pairs (y = x, least squares, Pearson r), one labelled point each.
PlotSpec pairedAccuracyScatter(const std::vector<AccuracyPair>& pairs);

// Top-1 accuracy (in %) of the pretrained models and of the generated samples given, as
// two overlaid histograms on common bins (counts, not densities: the sets are small).
// NaN accuracies are left out; Error(Config) when neither side has an accuracy.
PlotSpec accuracyHistogram(const std::string& title, const std::vector<ModelRecord>& models,
                           const std::vector<SampleRecord>& samples);

// One layer's values pooled over pretrained checkpoints and over generated networks of a
// pair, as two overlaid histograms: the parameter distribution of the Analyze page and of
// the experiment reports. Networks without the layer are left out, and so is a side that
// has none.
PlotSpec layerDistribution(const std::string& title, const std::string& layer, const std::vector<StateDict>& pretrained,
                           const std::vector<StateDict>& generated);

// One measurement of a repeated fine-tuning experiment: `method` (e.g. "generated",
// "scratch"), the run's seed, the epoch and the value (e.g. test accuracy).
struct FineTuningRow {
  std::string method;
  int64_t curve = 0;  // which curve of the method: a CSV's seed column, a catalogue run's id
  double epoch = 0;
  double value = 0;
};
// A CSV with a header naming the columns method, seed, epoch and value (any order, other
// columns ignored; '#' lines skipped). Error(Format) naming `where` and the line.
std::vector<FineTuningRow> fineTuningRowsFromCsv(const std::string& text, const std::string& where);
// A fine-tuning run of the catalogue: kind "finetune", config {"method": ...}, `metric`
// logged once per epoch (the step is the epoch); the run is one curve. Error(Config)
// naming the run when its config lacks the method.
std::vector<FineTuningRow> fineTuningRowsOfRun(const RunRecord& run, const std::vector<MetricPoint>& metrics,
                                               const std::string& metric);
// Which comparison a fine-tuning run belongs to, so that runs of different pairs and
// priors are plotted apart: "<architecture> / <dataset>, prior run N" from its config;
// empty when the config names no architecture.
std::string fineTuningGroup(const RunRecord& run);
// fineTuningCurves over the rows: mean and standard deviation across seeds per method and
// epoch. Error(Mismatch) naming the method and seed when a run lacks an epoch others have.
PlotSpec fineTuningFigure(const std::string& title, const std::string& yLabel, const std::vector<FineTuningRow>& rows);

}  // namespace igpg
