#include "analyze/analyze_page.h"

#include "app/format.h"
#include "app/messages.h"
#include "app/studio_context.h"
#include "catalogue/catalogue.h"
#include "common/error.h"
#include "common/files.h"
#include "jobs/job_runner.h"
#include "plots/plot_view.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QStyle>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <set>

namespace igpg::ui {

struct AnalyzePage::Overview {
  std::vector<RunRecord> tokenizerRuns;  // those whose summary has codebook statistics
  std::vector<std::pair<std::string, std::string>> samplePairs;  // (architecture, dataset) with samples
  std::vector<AccuracyPair> accuracyPairs;
  std::vector<std::pair<RunRecord, std::vector<MetricPoint>>> fineTuningRuns;
  QString error;
};

struct AnalyzePage::Weights {
  int request = 0;
  std::string architecture, dataset;
  std::vector<StateDict> pretrained, generated;
  QString error;
};

namespace {

PlotSpec placeholder(const QString& title, const QString& note) {
  PlotSpec spec;
  spec.title = title.toStdString();
  if (!note.isEmpty()) spec.annotations.push_back(note.toStdString());
  return spec;
}

// Draws a figure that a builder may refuse (no finite value, mismatched runs): the
// refusal becomes the plot's note instead of an exception in a slot.
template <typename Build>
void showFigure(PlotView* view, const QString& title, Build&& build) {
  try {
    view->setSpec(build());
  } catch (const Error& e) {
    view->setSpec(placeholder(title, QString::fromStdString(e.what())));
  }
}

QString pairText(const std::string& architecture, const std::string& dataset) {
  return QString::fromStdString(architecture) + QStringLiteral(" / ") + QString::fromStdString(dataset);
}

}  // namespace

AnalyzePage::AnalyzePage(StudioContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);

  tokenizerRun_ = new QComboBox(this);
  tokenizerRun_->setObjectName(QStringLiteral("analyzeTokenizerRun"));
  tokenizerRun_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  pair_ = new QComboBox(this);
  pair_->setObjectName(QStringLiteral("analyzePair"));
  pair_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  layer_ = new QComboBox(this);
  layer_->setObjectName(QStringLiteral("analyzeLayer"));
  layer_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  fineTuningSource_ = new QComboBox(this);
  fineTuningSource_->setObjectName(QStringLiteral("fineTuningSource"));
  fineTuningSource_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  fineTuningMetric_ = new QComboBox(this);
  fineTuningMetric_->setObjectName(QStringLiteral("fineTuningMetric"));
  fineTuningMetric_->setSizeAdjustPolicy(QComboBox::AdjustToContents);

  codebook_ = new PlotView(this);
  codebook_->setObjectName(QStringLiteral("codebookPlot"));
  distribution_ = new PlotView(this);
  distribution_->setObjectName(QStringLiteral("distributionPlot"));
  scatter_ = new PlotView(this);
  scatter_->setObjectName(QStringLiteral("scatterPlot"));
  fineTuning_ = new PlotView(this);
  fineTuning_->setObjectName(QStringLiteral("fineTuningPlot"));

  auto controls = [this](std::initializer_list<QWidget*> widgets) {
    auto* row = new QWidget(this);
    auto* l = new QHBoxLayout(row);
    l->setContentsMargins(0, 0, 0, 0);
    for (QWidget* w : widgets) l->addWidget(w);
    l->addStretch(1);
    return row;
  };
  auto* openCsv = new QPushButton(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("CSV\u2026"), this);
  openCsv->setToolTip(tr("Fine-tuning results from a CSV with the columns method, seed, epoch, value"));
  auto* refreshButton = new QPushButton(style()->standardIcon(QStyle::SP_BrowserReload), QString(), this);
  refreshButton->setToolTip(tr("Read the catalogue again"));

  auto* rows = new QSplitter(Qt::Vertical, this);
  rows->setObjectName(QStringLiteral("analyzeRows"));
  auto* top = new QSplitter(Qt::Horizontal, rows);
  auto* bottom = new QSplitter(Qt::Horizontal, rows);
  top->addWidget(panel(tr("Codebook usage"), controls({new QLabel(tr("Tokenizer run:")), tokenizerRun_}), codebook_));
  top->addWidget(panel(tr("Parameter distribution"),
                       controls({new QLabel(tr("Pair:")), pair_, new QLabel(tr("Layer:")), layer_}), distribution_));
  bottom->addWidget(panel(tr("Generated vs pretrained accuracy"), controls({refreshButton}), scatter_));
  bottom->addWidget(panel(tr("Fine-tuning"),
                          controls({new QLabel(tr("From:")), fineTuningSource_, new QLabel(tr("Metric:")),
                                    fineTuningMetric_, openCsv}),
                          fineTuning_));
  rows->addWidget(top);
  rows->addWidget(bottom);
  // Four plots need height: on a small screen the page scrolls instead of pushing the
  // window past the screen.
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(rows);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  layout->addWidget(scroll);

  connect(tokenizerRun_, &QComboBox::currentIndexChanged, this, &AnalyzePage::showCodebook);
  connect(pair_, &QComboBox::currentIndexChanged, this, &AnalyzePage::loadDistribution);
  connect(layer_, &QComboBox::currentIndexChanged, this, &AnalyzePage::showDistribution);
  connect(fineTuningSource_, &QComboBox::currentIndexChanged, this, &AnalyzePage::showFineTuning);
  connect(fineTuningMetric_, &QComboBox::currentIndexChanged, this, &AnalyzePage::showFineTuning);
  connect(openCsv, &QPushButton::clicked, this, &AnalyzePage::chooseFineTuningCsv);
  connect(refreshButton, &QPushButton::clicked, this, [this] { context_.notifyCatalogueChanged(); });
  connect(&overviewWatcher_, &QFutureWatcher<std::shared_ptr<Overview>>::finished, this,
          [this] { showOverview(overviewWatcher_.result()); });
  connect(&weightsWatcher_, &QFutureWatcher<std::shared_ptr<Weights>>::finished, this, [this] {
    const auto w = weightsWatcher_.result();
    if (w->request != weightsRequest_) return;
    weights_ = w;
    const QString current = layer_->currentText();
    {
      const QSignalBlocker block(layer_);
      layer_->clear();
      const StateDict* names = !w->generated.empty() ? &w->generated.front()
                               : !w->pretrained.empty() ? &w->pretrained.front() : nullptr;
      if (names)
        for (const auto& e : names->entries()) layer_->addItem(QString::fromStdString(e.name));
      layer_->setCurrentIndex(std::max(0, layer_->findText(current)));
    }
    showDistribution();
    emit distributionShown();
  });
  connect(&context_, &StudioContext::catalogueChanged, this, &AnalyzePage::refresh);

  codebook_->setSpec(placeholder(tr("Codebook usage"), tr("no tokenizer run with codebook statistics yet")));
  distribution_->setSpec(placeholder(tr("Parameter distribution"), tr("no generated samples yet")));
  scatter_->setSpec(placeholder(tr("Generated vs pretrained accuracy"), {}));
  fineTuning_->setSpec(placeholder(tr("Fine-tuning"), tr("no fine-tuning runs; generate with fine-tuning, or open a CSV")));
}

AnalyzePage::~AnalyzePage() {
  overviewWatcher_.waitForFinished();
  weightsWatcher_.waitForFinished();
}

QWidget* AnalyzePage::panel(const QString& title, QWidget* controls, PlotView* view) {
  auto* box = new QWidget(this);
  auto* l = new QVBoxLayout(box);
  l->setContentsMargins(2, 2, 2, 2);
  auto* heading = new QHBoxLayout;
  auto* label = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), box);
  heading->addWidget(label);
  heading->addSpacing(12);
  heading->addWidget(controls, 1);
  l->addLayout(heading);
  l->addWidget(view, 1);
  return box;
}

void AnalyzePage::refresh() {
  stale_ = true;
  if (isVisible()) loadOverview();
}

void AnalyzePage::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (stale_) loadOverview();
}

void AnalyzePage::loadOverview() {
  stale_ = false;
  if (!context_.hasCatalogue()) return;
  const std::string path = context_.cataloguePathStd();
  overviewWatcher_.setFuture(QtConcurrent::run([path] {
    auto o = std::make_shared<Overview>();
    try {
      auto c = Catalogue::open(path, Catalogue::ReadOnly);
      for (auto& r : c->listRuns("tokenizer"))
        if (r.summary.is_object() && r.summary.contains("codebook")) o->tokenizerRuns.push_back(std::move(r));
      const auto samples = c->samples();
      std::set<std::pair<std::string, std::string>> pairs;
      for (const auto& s : samples) pairs.insert({s.architecture, s.dataset});
      o->samplePairs.assign(pairs.begin(), pairs.end());
      o->accuracyPairs = pairAccuracies(c->listModels(), samples);
      for (auto& r : c->listRuns("finetune")) {
        auto metrics = c->metrics(r.id);
        o->fineTuningRuns.emplace_back(std::move(r), std::move(metrics));
      }
    } catch (...) {
      o->error = outcomeOfCurrentException().message;
    }
    return o;
  }));
}

void AnalyzePage::showOverview(const std::shared_ptr<Overview>& o) {
  overview_ = o;
  {
    const qlonglong current = tokenizerRun_->currentData().toLongLong();
    const QSignalBlocker block(tokenizerRun_);
    tokenizerRun_->clear();
    for (auto it = o->tokenizerRuns.rbegin(); it != o->tokenizerRuns.rend(); ++it)
      tokenizerRun_->addItem(QStringLiteral("#%1 %2").arg(it->id).arg(QString::fromStdString(it->name)),
                             qlonglong(it->id));
    tokenizerRun_->setCurrentIndex(std::max(0, tokenizerRun_->findData(current)));
  }
  {
    const QString current = pair_->currentText();
    const QSignalBlocker block(pair_);
    pair_->clear();
    for (const auto& [architecture, dataset] : o->samplePairs)
      pair_->addItem(pairText(architecture, dataset),
                     QStringList{QString::fromStdString(architecture), QString::fromStdString(dataset)});
    pair_->setCurrentIndex(std::max(0, pair_->findText(current)));
  }
  {
    const QString currentSource = fineTuningSource_->currentText();
    const QSignalBlocker blockSource(fineTuningSource_);
    fineTuningSource_->clear();
    // One entry per comparison (pair and prior), newest first; runs that name none together.
    std::vector<std::pair<std::string, int64_t>> groups;
    for (auto it = o->fineTuningRuns.rbegin(); it != o->fineTuningRuns.rend(); ++it) {
      const std::string group = fineTuningGroup(it->first);
      auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.first == group; });
      if (g == groups.end()) groups.emplace_back(group, 1);
      else ++g->second;
    }
    for (const auto& [group, count] : groups)
      fineTuningSource_->addItem(tr("%1 (%2)")
                                     .arg(group.empty() ? tr("catalogue runs") : QString::fromStdString(group),
                                          countText(count, tr("run"), tr("runs"))),
                                 QStringLiteral("runs:") + QString::fromStdString(group));
    if (!csvRows_.empty()) fineTuningSource_->addItem(csvName_, QStringLiteral("csv"));
    fineTuningSource_->setCurrentIndex(std::max(0, fineTuningSource_->findText(currentSource)));
  }

  if (!o->error.isEmpty()) {
    scatter_->setSpec(placeholder(tr("Generated vs pretrained accuracy"), o->error));
  } else if (o->accuracyPairs.empty()) {
    scatter_->setSpec(placeholder(tr("Generated vs pretrained accuracy"),
                                  tr("needs generated samples with an accuracy for an architecture and dataset "
                                     "that also has pretrained models")));
  } else {
    showFigure(scatter_, tr("Generated vs pretrained accuracy"),
               [&] { return pairedAccuracyScatter(o->accuracyPairs); });
  }
  showCodebook();
  showFineTuning();
  loadDistribution();  // new samples or models of the pair may have come
  emit overviewShown();
}

void AnalyzePage::showCodebook() {
  if (!overview_ || tokenizerRun_->count() == 0) {
    codebook_->setSpec(placeholder(tr("Codebook usage"), tr("no tokenizer run with codebook statistics yet")));
    return;
  }
  const int64_t id = tokenizerRun_->currentData().toLongLong();
  for (const auto& r : overview_->tokenizerRuns)
    if (r.id == id) showFigure(codebook_, tr("Codebook usage"), [&] { return codebookUsageOfRun(r); });
}

void AnalyzePage::selectTokenizerRun(int64_t runId) {
  tokenizerRun_->setCurrentIndex(std::max(0, tokenizerRun_->findData(qlonglong(runId))));
}

void AnalyzePage::selectPair(const QString& architecture, const QString& dataset) {
  const int i = pair_->findData(QStringList{architecture, dataset});
  if (i >= 0) pair_->setCurrentIndex(i);
}

void AnalyzePage::selectLayer(const QString& layer) {
  const int i = layer_->findText(layer);
  if (i >= 0) layer_->setCurrentIndex(i);
}

void AnalyzePage::loadDistribution() {
  const int request = ++weightsRequest_;
  const QStringList pair = pair_->currentData().toStringList();
  if (pair.size() != 2 || !context_.hasCatalogue()) {
    weights_.reset();
    layer_->clear();
    distribution_->setSpec(placeholder(tr("Parameter distribution"), tr("no generated samples yet")));
    return;
  }
  const std::string path = context_.cataloguePathStd();
  const std::string architecture = pair[0].toStdString(), dataset = pair[1].toStdString();
  weightsWatcher_.setFuture(QtConcurrent::run([path, architecture, dataset, request] {
    auto w = std::make_shared<Weights>();
    w->request = request;
    w->architecture = architecture;
    w->dataset = dataset;
    try {
      auto c = Catalogue::open(path, Catalogue::ReadOnly);
      ModelFilter f;
      f.architecture = architecture;
      f.dataset = dataset;
      for (const auto& m : c->listModels(f)) {
        if (m.source == "generated") continue;  // saved samples are the other side
        w->pretrained.push_back(c->loadWeights(m));
        if (int(w->pretrained.size()) == kMaxDistributionModels) break;
      }
      for (const auto& s : c->samples()) {
        if (s.architecture != architecture || s.dataset != dataset) continue;
        w->generated.push_back(c->loadWeights(s));
        if (int(w->generated.size()) == kMaxDistributionModels) break;
      }
    } catch (...) {
      w->error = outcomeOfCurrentException().message;
    }
    return w;
  }));
}

void AnalyzePage::showDistribution() {
  const QString title = tr("Parameter distribution");
  if (!weights_) return;
  if (!weights_->error.isEmpty()) {
    distribution_->setSpec(placeholder(title, weights_->error));
    return;
  }
  const std::string layer = layer_->currentText().toStdString();
  const QString figureTitle = QStringLiteral("%1 \u2014 %2").arg(QString::fromStdString(layer),
                                                                pairText(weights_->architecture, weights_->dataset));
  showFigure(distribution_, title, [&] {
    return layerDistribution(figureTitle.toStdString(), layer, weights_->pretrained, weights_->generated);
  });
}

void AnalyzePage::showFineTuning() {
  const QString title = tr("Fine-tuning");
  const QString source = fineTuningSource_->currentData().toString();
  const bool fromRuns = source.startsWith(QLatin1String("runs:"));
  fineTuningMetric_->setEnabled(fromRuns);
  if (source == QLatin1String("csv")) {
    showFigure(fineTuning_, title, [&] {
      return fineTuningFigure(("Fine-tuning: " + csvName_).toStdString(), "value", csvRows_);
    });
    return;
  }
  if (!fromRuns || !overview_) {
    fineTuning_->setSpec(placeholder(title, tr("no fine-tuning runs; generate with fine-tuning, or open a CSV")));
    return;
  }
  const std::string group = source.mid(5).toStdString();
  {
    // The metrics the selected runs logged; the current one stays if they have it.
    std::set<std::string> names;
    for (const auto& [run, metrics] : overview_->fineTuningRuns)
      if (fineTuningGroup(run) == group)
        for (const auto& m : metrics) names.insert(m.name);
    const QString current = fineTuningMetric_->currentText();
    const QSignalBlocker block(fineTuningMetric_);
    fineTuningMetric_->clear();
    for (const auto& n : names) fineTuningMetric_->addItem(QString::fromStdString(n));
    int keep = fineTuningMetric_->findText(current);
    for (int i = 0; i < fineTuningMetric_->count() && keep < 0; ++i)
      if (fineTuningMetric_->itemText(i).contains(QLatin1String("acc")) ||
          fineTuningMetric_->itemText(i).contains(QLatin1String("top1")))
        keep = i;
    fineTuningMetric_->setCurrentIndex(std::max(0, keep));
  }
  const std::string metric = fineTuningMetric_->currentText().toStdString();
  showFigure(fineTuning_, title, [&] {
    std::vector<FineTuningRow> rows;
    for (const auto& [run, metrics] : overview_->fineTuningRuns) {
      if (fineTuningGroup(run) != group) continue;
      const auto more = fineTuningRowsOfRun(run, metrics, metric);
      rows.insert(rows.end(), more.begin(), more.end());
    }
    return fineTuningFigure("Fine-tuning" + (group.empty() ? std::string() : ": " + group), metric, rows);
  });
}

void AnalyzePage::loadFineTuningCsv(const QString& path) {
  try {
    csvRows_ = fineTuningRowsFromCsv(readFileText(path.toStdString()), path.toStdString());
  } catch (...) {
    showCurrentException(this, tr("Fine-tuning CSV"));
    return;
  }
  csvName_ = QFileInfo(path).fileName();
  {
    const QSignalBlocker block(fineTuningSource_);
    const int old = fineTuningSource_->findData(QStringLiteral("csv"));
    if (old >= 0) fineTuningSource_->removeItem(old);
    fineTuningSource_->addItem(csvName_, QStringLiteral("csv"));
    fineTuningSource_->setCurrentIndex(fineTuningSource_->count() - 1);
  }
  showFineTuning();
}

void AnalyzePage::chooseFineTuningCsv() {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Fine-tuning results"), {}, tr("CSV (*.csv);;All files (*)"));
  if (!path.isEmpty()) loadFineTuningCsv(path);
}

}  // namespace igpg::ui
