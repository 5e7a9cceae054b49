// The Generate page: an architecture (from the catalogue, or typed as a SPEC) with its
// description and parameter count, a dataset, a prior run, the number of samples and the
// sampling options (the CLI's defaults, from SamplingOptions); Generate runs as a job.
// The results table lists the samples of the chosen pair: top-1, top-5, the gap to the
// pretrained models' mean top-1 and novelty; selected samples can be saved to the zoo
// or exported as safetensors.
#pragma once

#include "catalogue/catalogue.h"
#include "jobs/job_runner.h"
#include "prior/sampler.h"

#include <torch/types.h>

#include <QWidget>

#include <functional>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace igpg::ui {

class JobProgress;
class OptionForm;
class PlotView;
class StudioContext;

struct GenerateRequest {
  std::string cataloguePath;
  std::string architecture;  // a catalogue name or a SPEC
  std::string dataset;
  int64_t priorRunId = 0;
  int64_t samples = 4;
  SamplingOptions sampling;
  int64_t fineTuneEpochs = 0;  // > 0: fine-tune the samples against scratch (the Analyze page plots it)
  torch::Device device = torch::kCPU;
};

// Generates, evaluates and stores the samples (SampleRecords of the prior run).
using Generator = std::function<void(const GenerateRequest& request, const JobControl& job)>;
// Saves a sample to the zoo as a model (source "generated"); returns the model's id.
using SampleSaver = std::function<int64_t(Catalogue& catalogue, int64_t sampleId)>;

class GeneratePage : public QWidget {
  Q_OBJECT
 public:
  explicit GeneratePage(StudioContext& context, QWidget* parent = nullptr);

  // Without a generator, Generate stays disabled and says why; likewise Save.
  void setGenerator(Generator generator);
  void setSampleSaver(SampleSaver saver);
  JobRunner* jobs() const { return jobs_; }
  GenerateRequest request() const;
  SamplingOptions& samplingOptions() { return sampling_; }
  OptionForm* samplingForm() const { return form_; }
  QTableWidget* resultsTable() const { return results_; }
  PlotView* accuracyView() const { return accuracy_; }
  QPushButton* generateButton() const { return generate_; }

  void setArchitecture(const QString& nameOrSpec);
  void setDataset(const QString& name);
  std::vector<int64_t> selectedSampleIds() const;
  void startGenerate();
  void startSave(const std::vector<int64_t>& sampleIds);
  void startExport(int64_t sampleId, const QString& path);

 public slots:
  void refresh();

 signals:
  void resultsShown();

 private:
  void describeArchitecture();
  void showResults();
  void updateButtons();
  void chooseExport();

  StudioContext& context_;
  Generator generator_;
  SampleSaver saver_;
  JobRunner* jobs_ = nullptr;
  SamplingOptions sampling_;
  int64_t samples_ = GenerateRequest{}.samples;
  int64_t fineTuneEpochs_ = GenerateRequest{}.fineTuneEpochs;

  QComboBox* architecture_ = nullptr;
  QLabel* description_ = nullptr;
  QComboBox* dataset_ = nullptr;
  QComboBox* priorRun_ = nullptr;
  OptionForm* form_ = nullptr;
  QPushButton* generate_ = nullptr;
  QPushButton* save_ = nullptr;
  QPushButton* export_ = nullptr;
  JobProgress* progress_ = nullptr;
  QLabel* summary_ = nullptr;
  QTableWidget* results_ = nullptr;
  PlotView* accuracy_ = nullptr;
};

}  // namespace igpg::ui
