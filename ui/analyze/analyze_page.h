// The Analyze page: four figures over the catalogue, each a PlotView (zoom, log y,
// PNG and CSV export): codebook usage of a tokenizer run (perplexity, dead codes), one
// layer's parameter distribution generated vs pretrained, generated-vs-pretrained top-1
// per architecture and dataset (y = x, least squares, Pearson r), and fine-tuning
// curves of repeated runs (catalogue runs of kind "finetune", or a CSV). Reading the
// catalogue happens off the GUI thread; the figures are core's builders
// (evaluation/catalogue_figures.h).
#pragma once

#include "catalogue/records.h"
#include "evaluation/catalogue_figures.h"

#include <QFutureWatcher>
#include <QWidget>

#include <memory>

class QComboBox;
class QLabel;
class QPushButton;
class QSplitter;

namespace igpg::ui {

class PlotView;
class StudioContext;

class AnalyzePage : public QWidget {
  Q_OBJECT
 public:
  // At most this many pretrained models and samples feed a distribution.
  static constexpr int kMaxDistributionModels = 8;

  explicit AnalyzePage(StudioContext& context, QWidget* parent = nullptr);
  ~AnalyzePage() override;

  PlotView* codebookView() const { return codebook_; }
  PlotView* distributionView() const { return distribution_; }
  PlotView* scatterView() const { return scatter_; }
  PlotView* fineTuningView() const { return fineTuning_; }

  void selectTokenizerRun(int64_t runId);
  void selectPair(const QString& architecture, const QString& dataset);
  void selectLayer(const QString& layer);
  // Fine-tuning curves from a CSV file (method,seed,epoch,value); shows an error on failure.
  void loadFineTuningCsv(const QString& path);

 public slots:
  // Reads the catalogue again (now if the page is shown, else when it next is).
  void refresh();

 signals:
  void overviewShown();       // run lists, pairs and the scatter are up to date
  void distributionShown();   // the chosen pair's weights are loaded and drawn

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  struct Overview;
  struct Weights;
  QWidget* panel(const QString& title, QWidget* controls, PlotView* view);
  void loadOverview();
  void showOverview(const std::shared_ptr<Overview>& overview);
  void showCodebook();
  void loadDistribution();
  void showDistribution();
  void showFineTuning();
  void chooseFineTuningCsv();

  StudioContext& context_;
  bool stale_ = true;
  QComboBox* tokenizerRun_ = nullptr;
  QComboBox* pair_ = nullptr;
  QComboBox* layer_ = nullptr;
  QComboBox* fineTuningSource_ = nullptr;
  QComboBox* fineTuningMetric_ = nullptr;
  PlotView* codebook_ = nullptr;
  PlotView* distribution_ = nullptr;
  PlotView* scatter_ = nullptr;
  PlotView* fineTuning_ = nullptr;

  QFutureWatcher<std::shared_ptr<Overview>> overviewWatcher_;
  QFutureWatcher<std::shared_ptr<Weights>> weightsWatcher_;
  std::shared_ptr<Overview> overview_;
  std::shared_ptr<Weights> weights_;
  int weightsRequest_ = 0;
  std::vector<FineTuningRow> csvRows_;
  QString csvName_;
};

}  // namespace igpg::ui
