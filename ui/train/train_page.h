// The Train page: the tokenizer's and the prior's options as forms (the CLI's defaults,
// read from default-constructed option structs), Start and Cancel, a progress bar with
// ETA, live loss curves, a log, and the history of runs in the catalogue with their
// configuration, final summary and per-step metrics.
#pragma once

#include "catalogue/records.h"
#include "jobs/job_runner.h"
#include "prior/prior_training.h"
#include "tokenizer/tokenizer_training.h"

#include <QWidget>

#include <functional>
#include <map>
#include <string>

class QComboBox;
class QPlainTextEdit;
class QPushButton;
class QSplitter;
class QTabWidget;
class QTableWidget;
class QTimer;

namespace igpg::ui {

class JobProgress;
class LogPanel;
class OptionForm;
class PlotView;
class StudioContext;

// What Start asks for: which training, its options, and on which part of the zoo.
struct TrainRequest {
  enum Kind { Tokenizer, Prior };
  Kind kind = Tokenizer;
  std::string cataloguePath;
  ModelFilter zoo;  // the models to train on (family, dataset)
  TokenizerTrainOptions tokenizer;
  PriorTrainOptions prior;
  int64_t tokenizerRunId = 0;  // Prior: the tokenizer run whose tokens it learns
};

// Runs a training on the worker thread (reporting metrics through job.progress).
using Trainer = std::function<void(const TrainRequest& request, const JobControl& job)>;

class TrainPage : public QWidget {
  Q_OBJECT
 public:
  explicit TrainPage(StudioContext& context, QWidget* parent = nullptr);

  // Without a trainer, Start stays disabled and says why.
  void setTrainer(Trainer trainer);
  JobRunner* jobs() const { return jobs_; }
  TrainRequest request() const;  // what Start would run now

  TokenizerTrainOptions& tokenizerOptions() { return tokenizer_; }
  PriorTrainOptions& priorOptions() { return prior_; }
  OptionForm* tokenizerForm() const { return tokenizerForm_; }
  OptionForm* priorForm() const { return priorForm_; }
  PlotView* liveCurves() const { return live_; }
  PlotView* historyCurves() const { return historyPlot_; }
  LogPanel* log() const { return log_; }
  JobProgress* progress() const { return progress_; }
  QTableWidget* runsTable() const { return runs_; }
  QPushButton* startButton() const { return start_; }
  QPushButton* cancelButton() const { return cancel_; }

  void setKind(TrainRequest::Kind kind);
  void start();
  void cancel();
  void resetToDefaults();
  void selectRun(int64_t runId);

 public slots:
  void refreshHistory();

 private:
  QWidget* buildForms();
  QWidget* buildLive();
  QWidget* buildHistory();
  void onProgress(const ProgressEvent& event);
  void onFinished(const JobOutcome& outcome);
  void redrawLive();
  void showRun(int64_t runId);
  void updateButtons();

  StudioContext& context_;
  Trainer trainer_;
  JobRunner* jobs_ = nullptr;
  TokenizerTrainOptions tokenizer_;
  PriorTrainOptions prior_;

  QTabWidget* kind_ = nullptr;
  OptionForm* tokenizerForm_ = nullptr;
  OptionForm* priorForm_ = nullptr;
  QComboBox* zooFamily_ = nullptr;
  QComboBox* zooDataset_ = nullptr;
  QComboBox* tokenizerRun_ = nullptr;
  QPushButton* start_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QPushButton* reset_ = nullptr;

  QTabWidget* right_ = nullptr;
  JobProgress* progress_ = nullptr;
  QComboBox* liveMetric_ = nullptr;
  PlotView* live_ = nullptr;
  LogPanel* log_ = nullptr;
  QTimer* redraw_ = nullptr;
  bool liveDirty_ = false;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> liveMetrics_;  // name -> (step, value)

  QTableWidget* runs_ = nullptr;
  QPlainTextEdit* runText_ = nullptr;
  QComboBox* historyMetric_ = nullptr;
  PlotView* historyPlot_ = nullptr;
  std::vector<MetricPoint> runMetrics_;
  int64_t shownRun_ = 0;
  QString shownTitle_;
};

}  // namespace igpg::ui
