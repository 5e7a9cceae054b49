#include "train/train_page.h"

#include "app/format.h"
#include "app/log_panel.h"
#include "app/messages.h"
#include "app/studio_context.h"
#include "evaluation/plot_spec.h"
#include "jobs/job_progress.h"
#include "plots/plot_view.h"
#include "tokenizer/chunking.h"
#include "train/option_form.h"

#include <QComboBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QStyle>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>
#include <set>

namespace igpg::ui {

namespace {

constexpr int64_t kBig = std::numeric_limits<int>::max();

// A run's long lists of integers (the ids of the models it trained on) as one line of
// ranges, "1-27, 30-81 (79 values)", instead of one line per id in the run's text.
void compactIntegerLists(nlohmann::json& j) {
  const bool integers = j.is_array() && j.size() > 8 &&
                        std::all_of(j.begin(), j.end(), [](const nlohmann::json& v) { return v.is_number_integer(); });
  if (!integers) {
    if (j.is_structured())
      for (auto& v : j) compactIntegerLists(v);  // an object's values, an array's elements
    return;
  }
  std::vector<int64_t> values = j.get<std::vector<int64_t>>();
  std::sort(values.begin(), values.end());
  std::string text;
  for (size_t i = 0; i < values.size();) {
    size_t end = i;
    while (end + 1 < values.size() && values[end + 1] <= values[end] + 1) ++end;
    if (!text.empty()) text += ", ";
    text += std::to_string(values[i]);
    if (values[end] != values[i]) text += "-" + std::to_string(values[end]);
    i = end + 1;
  }
  j = text + " (" + std::to_string(values.size()) + " values)";
}

using MetricSeries = std::map<std::string, std::pair<std::vector<double>, std::vector<double>>>;

// Per-step metrics as the catalogue stores them (by name, then step) -> one series each.
MetricSeries seriesOf(const std::vector<MetricPoint>& points) {
  MetricSeries series;
  for (const auto& m : points) {
    auto& s = series[m.name];
    s.first.push_back(double(m.step));
    s.second.push_back(m.value);
  }
  return series;
}

// The metric a plot starts on: the first loss, else the first of any.
QString preferredMetric(const MetricSeries& metrics) {
  for (const auto& [name, points] : metrics)
    if (name.find("loss") != std::string::npos) return QString::fromStdString(name);
  return metrics.empty() ? QString() : QString::fromStdString(metrics.begin()->first);
}

// Keeps the combo's choice when the metric still exists.
void refillMetricCombo(QComboBox* combo, const MetricSeries& metrics) {
  const QString current = combo->currentText();
  const QSignalBlocker block(combo);
  combo->clear();
  for (const auto& [name, points] : metrics) combo->addItem(QString::fromStdString(name));
  const int keep = combo->findText(current);
  combo->setCurrentIndex(keep >= 0 ? keep : combo->findText(preferredMetric(metrics)));
}

// A metric's curve as trainingCurves draws it, keeping the view's smoothing and y scale.
void showCurve(PlotView* view, const QString& title, const MetricSeries& metrics, const QString& metric) {
  PlotSpec spec;
  const auto it = metrics.find(metric.toStdString());
  if (it != metrics.end()) {
    spec = trainingCurves(title.toStdString(), "step", it->first, {{it->first, it->second.first, it->second.second}},
                          view->spec().series.empty() ? 0.6 : view->spec().smoothing);
    spec.logY = view->spec().logY;
  } else {
    spec.title = title.toStdString();
  }
  view->setSpec(spec);
}

QTableWidgetItem* cell(const QString& text, const QVariant& sortValue = {}) {
  auto* item = new QTableWidgetItem(text);
  if (sortValue.isValid()) item->setData(Qt::UserRole, sortValue);
  return item;
}

// The final numbers of a run's summary, compactly: "final_loss 0.812 · perplexity 611".
QString summaryLine(const nlohmann::json& summary) {
  QStringList parts;
  if (summary.is_object())
    for (const auto& [key, value] : summary.items())
      if (value.is_number() && parts.size() < 4)
        parts << QStringLiteral("%1 %2").arg(QString::fromStdString(key), numberText(value.get<double>()));
  return parts.join(QStringLiteral(" \u00b7 "));
}

}  // namespace

TrainPage::TrainPage(StudioContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  jobs_ = new JobRunner(this);
  jobs_->setObjectName(QStringLiteral("trainJobs"));
  redraw_ = new QTimer(this);
  redraw_->setInterval(250);  // live curves redraw at most four times a second
  connect(redraw_, &QTimer::timeout, this, &TrainPage::redrawLive);

  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  auto* splitter = new QSplitter(Qt::Horizontal, this);
  splitter->setObjectName(QStringLiteral("trainSplitter"));
  layout->addWidget(splitter);
  splitter->addWidget(buildForms());
  right_ = new QTabWidget(splitter);
  right_->setDocumentMode(true);
  right_->addTab(buildLive(), style()->standardIcon(QStyle::SP_MediaPlay), tr("Current Run"));
  right_->addTab(buildHistory(), style()->standardIcon(QStyle::SP_FileDialogDetailedView), tr("Run History"));
  splitter->addWidget(right_);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({380, 900});

  connect(jobs_, &JobRunner::progress, this, &TrainPage::onProgress);
  connect(jobs_, &JobRunner::finished, this, &TrainPage::onFinished);
  connect(jobs_, &JobRunner::started, this, &TrainPage::updateButtons);
  connect(&context_, &StudioContext::catalogueChanged, this, &TrainPage::refreshHistory);
  setTrainer({});
  refreshHistory();
}

QWidget* TrainPage::buildForms() {
  auto* panel = new QWidget(this);
  auto* layout = new QVBoxLayout(panel);
  layout->setContentsMargins(0, 0, 0, 0);

  auto* zoo = new QGroupBox(tr("Training zoo"), panel);
  auto* zooForm = new QFormLayout(zoo);
  zooFamily_ = new QComboBox(zoo);
  zooFamily_->setObjectName(QStringLiteral("trainFamily"));
  zooDataset_ = new QComboBox(zoo);
  zooDataset_->setObjectName(QStringLiteral("trainDataset"));
  zooForm->addRow(tr("Family:"), zooFamily_);
  zooForm->addRow(tr("Dataset:"), zooDataset_);
  layout->addWidget(zoo);

  kind_ = new QTabWidget(panel);
  kind_->setObjectName(QStringLiteral("trainKind"));

  tokenizerForm_ = new OptionForm;
  tokenizerForm_->setObjectName(QStringLiteral("tokenizerForm"));
  auto& t = tokenizer_;
  auto& vq = tokenizer_.config.vq;
  OptionForm* f = tokenizerForm_;
  f->addSection(tr("VQ-VAE"));
  f->addInt("codebookSize", tr("Codebook size m:"), &vq.codebookSize, 2, 1 << 20, tr("Number of codes"));
  f->addInt("chunkSize", tr("Chunk size K:"), &vq.chunkSize, 1, 1 << 20, tr("Weights per chunk"));
  f->addInt("tokensPerChunk", tr("Tokens per chunk l:"), &vq.tokensPerChunk, 1, 1 << 16,
            tr("Latent vectors (tokens) per chunk; must divide K"));
  f->addInt("codeDim", tr("Code dimension:"), &vq.codeDim, 1, 1 << 16, tr("Width of a code vector"));
  f->addInt("hidden", tr("Hidden channels:"), &vq.hidden, 1, 1 << 16, tr("Channels of the convolution stacks"));
  f->addInt("resBlocks", tr("Residual blocks:"), &vq.resBlocks, 0, 64, tr("Residual blocks before and after resampling"));
  f->addInt("denseHidden", tr("Dense decoder width:"), &vq.denseHidden, 0, 1 << 16,
            tr("0: convolutional decoder; otherwise a dense decoder of this width that decodes a chunk from all its codes"));
  f->addChoice<Vectorization>("vectorization", tr("Vectorization:"), &t.config.vectorization,
                              {{tr("architecture-wise"), Vectorization::ArchitectureWise},
                               {tr("layer-wise"), Vectorization::LayerWise}},
                              tr("Chunk the whole flattened network, or each layer on its own"));
  f->addSection(tr("Optimization"));
  f->addInt("steps", tr("Steps:"), &t.steps, 1, kBig, tr("Training steps"));
  f->addInt("batchSize", tr("Batch size:"), &t.batchSize, 1, kBig, tr("Chunks per step"));
  f->addNumber("learningRate", tr("Learning rate:"), &t.learningRate, 1e-8, 10, tr("AdamW learning rate"));
  f->addNumber("weightDecay", tr("Weight decay:"), &t.weightDecay, 0, 10, tr("AdamW weight decay"));
  f->addNumber("gamma", tr("Commitment \u03b3:"), &t.gamma, 0, 100, tr("Weight of the commitment loss"));
  f->addNumber("beta", tr("Codebook \u03b2:"), &t.beta, 0, 100, tr("Weight of the codebook loss"));
  f->addSection(tr("Gumbel temperature"));
  f->addInt("temperatureCycles", tr("Cycles:"), &t.temperatureCycles, 1, 1000, tr("Cycles of the temperature schedule"));
  f->addNumber("tauMax", tr("\u03c4 max:"), &t.tauMax, 1e-8, 100, tr("Highest Gumbel-softmax temperature"));
  f->addNumber("tauMin", tr("\u03c4 min:"), &t.tauMin, 1e-8, 100, tr("Lowest Gumbel-softmax temperature"));
  f->addInt("restartEvery", tr("Dead-code restart every:"), &t.restartEvery, 0, kBig,
            tr("Steps between restarts of unused codes; 0 disables them"));
  f->addSection(tr("Run"));
  f->addSeed("seed", tr("Seed:"), &t.seed, tr("Seed of initialization and batches"));
  f->addInt("checkpointEvery", tr("Checkpoint every:"), &t.checkpointEvery, 1, kBig,
            tr("Steps between checkpoints (a cancelled run resumes from the last one)"));

  priorForm_ = new OptionForm;
  priorForm_->setObjectName(QStringLiteral("priorForm"));
  auto& p = prior_;
  f = priorForm_;
  tokenizerRun_ = new QComboBox;
  tokenizerRun_->setObjectName(QStringLiteral("tokenizerRun"));
  tokenizerRun_->setToolTip(tr("The finished tokenizer run whose tokens the prior learns"));
  f->addSection(tr("GPT"));
  f->addInt("contextLength", tr("Context N<sub>max</sub>:"), &p.gpt.contextLength, 8, 1 << 20,
            tr("Weight tokens per window; longer networks are generated block by block"));
  f->addInt("layers", tr("Layers:"), &p.gpt.layers, 1, 256, tr("Transformer blocks"));
  f->addInt("heads", tr("Heads:"), &p.gpt.heads, 1, 256, tr("Attention heads; must divide the width"));
  f->addInt("width", tr("Width:"), &p.gpt.width, 8, 1 << 16, tr("Embedding width"));
  f->addNumber("dropout", tr("Dropout:"), &p.gpt.dropout, 0, 0.9, tr("Dropout probability"));
  f->addSection(tr("Optimization"));
  f->addInt("steps", tr("Steps:"), &p.steps, 0, kBig,
            tr("Training steps; auto: %1").arg(QString::fromStdString(autoPriorStepsText())), tr("auto"));
  f->addInt("batchSize", tr("Batch size:"), &p.batchSize, 1, kBig, tr("Windows per step"));
  f->addNumber("learningRate", tr("Learning rate:"), &p.learningRate, 1e-8, 10, tr("Peak AdamW learning rate"));
  f->addNumber("finalLearningRate", tr("Final learning rate:"), &p.finalLearningRate, 0, 10,
               tr("Learning rate at the last step (linear decay)"));
  f->addInt("warmupSteps", tr("Warm-up steps:"), &p.warmupSteps, 0, kBig, tr("Linear warm-up"));
  f->addNumber("weightDecay", tr("Weight decay:"), &p.weightDecay, 0, 10, tr("AdamW weight decay"));
  f->addInt("contextOverlap", tr("Context overlap:"), &p.contextOverlap, -1, kBig,
            tr("Tokens of the previous block carried as context; -1: half the context"));
  f->addSection(tr("Run"));
  f->addSeed("seed", tr("Seed:"), &p.seed, tr("Seed of initialization and batches"));
  f->addInt("checkpointEvery", tr("Checkpoint every:"), &p.checkpointEvery, 1, kBig,
            tr("Steps between checkpoints (a cancelled run resumes from the last one)"));

  auto scrolled = [](QWidget* form) {
    auto* area = new QScrollArea;
    area->setWidget(form);
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    return area;
  };
  auto* priorPage = new QWidget;
  auto* priorLayout = new QVBoxLayout(priorPage);
  priorLayout->setContentsMargins(0, 0, 0, 0);
  auto* runRow = new QFormLayout;
  runRow->setContentsMargins(9, 6, 9, 0);
  runRow->addRow(tr("Tokenizer run:"), tokenizerRun_);
  priorLayout->addLayout(runRow);
  priorLayout->addWidget(scrolled(priorForm_), 1);
  kind_->addTab(scrolled(tokenizerForm_), tr("Tokenizer (VQ-VAE)"));
  kind_->addTab(priorPage, tr("Prior (GPT)"));
  layout->addWidget(kind_, 1);

  auto* buttons = new QHBoxLayout;
  reset_ = new QPushButton(style()->standardIcon(QStyle::SP_DialogResetButton), tr("Defaults"), panel);
  reset_->setToolTip(tr("Put back the command line's defaults"));
  start_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Start"), panel);
  start_->setObjectName(QStringLiteral("startTraining"));
  start_->setDefault(true);
  cancel_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("Cancel"), panel);
  cancel_->setObjectName(QStringLiteral("cancelTraining"));
  buttons->addWidget(reset_);
  buttons->addStretch(1);
  buttons->addWidget(start_);
  buttons->addWidget(cancel_);
  layout->addLayout(buttons);

  connect(reset_, &QPushButton::clicked, this, &TrainPage::resetToDefaults);
  connect(start_, &QPushButton::clicked, this, &TrainPage::start);
  connect(cancel_, &QPushButton::clicked, this, &TrainPage::cancel);
  connect(kind_, &QTabWidget::currentChanged, this, &TrainPage::updateButtons);
  connect(tokenizerRun_, &QComboBox::currentIndexChanged, this, &TrainPage::updateButtons);
  panel->setMinimumWidth(340);
  return panel;
}

QWidget* TrainPage::buildLive() {
  auto* page = new QWidget;
  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(4, 6, 4, 4);
  progress_ = new JobProgress(page);
  progress_->setObjectName(QStringLiteral("trainProgress"));
  progress_->watch(jobs_);
  layout->addWidget(progress_);

  auto* split = new QSplitter(Qt::Vertical, page);
  auto* plotPanel = new QWidget(split);
  auto* plotLayout = new QVBoxLayout(plotPanel);
  plotLayout->setContentsMargins(0, 0, 0, 0);
  auto* metricRow = new QHBoxLayout;
  metricRow->addWidget(new QLabel(tr("Metric:"), plotPanel));
  liveMetric_ = new QComboBox(plotPanel);
  liveMetric_->setObjectName(QStringLiteral("liveMetric"));
  liveMetric_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  metricRow->addWidget(liveMetric_);
  metricRow->addStretch(1);
  plotLayout->addLayout(metricRow);
  live_ = new PlotView(plotPanel);
  live_->setObjectName(QStringLiteral("liveCurves"));
  plotLayout->addWidget(live_, 1);
  log_ = new LogPanel(split);
  log_->setObjectName(QStringLiteral("trainLog"));
  split->addWidget(plotPanel);
  split->addWidget(log_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  layout->addWidget(split, 1);
  connect(liveMetric_, &QComboBox::currentTextChanged, this, [this] {
    liveDirty_ = true;
    redrawLive();
  });
  return page;
}

QWidget* TrainPage::buildHistory() {
  auto* split = new QSplitter(Qt::Vertical);
  runs_ = new QTableWidget(0, 7, split);
  runs_->setObjectName(QStringLiteral("runsTable"));
  runs_->setHorizontalHeaderLabels(
      {tr("Run"), tr("Kind"), tr("Name"), tr("Status"), tr("Started"), tr("Finished"), tr("Summary")});
  runs_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  runs_->setSelectionBehavior(QAbstractItemView::SelectRows);
  runs_->setSelectionMode(QAbstractItemView::SingleSelection);
  runs_->setAlternatingRowColors(true);
  runs_->verticalHeader()->setVisible(false);
  runs_->horizontalHeader()->setStretchLastSection(true);
  runs_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);

  auto* bottom = new QSplitter(Qt::Horizontal, split);
  runText_ = new QPlainTextEdit(bottom);
  runText_->setObjectName(QStringLiteral("runText"));
  runText_->setReadOnly(true);
  runText_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  runText_->setPlaceholderText(tr("Select a run to see its configuration and final summary."));
  auto* plotPanel = new QWidget(bottom);
  auto* plotLayout = new QVBoxLayout(plotPanel);
  plotLayout->setContentsMargins(0, 0, 0, 0);
  auto* metricRow = new QHBoxLayout;
  metricRow->addWidget(new QLabel(tr("Metric:"), plotPanel));
  historyMetric_ = new QComboBox(plotPanel);
  historyMetric_->setObjectName(QStringLiteral("historyMetric"));
  historyMetric_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  metricRow->addWidget(historyMetric_);
  metricRow->addStretch(1);
  plotLayout->addLayout(metricRow);
  historyPlot_ = new PlotView(plotPanel);
  historyPlot_->setObjectName(QStringLiteral("historyCurves"));
  plotLayout->addWidget(historyPlot_, 1);
  bottom->addWidget(runText_);
  bottom->addWidget(plotPanel);
  bottom->setStretchFactor(1, 2);
  split->addWidget(runs_);
  split->addWidget(bottom);
  split->setStretchFactor(1, 2);

  connect(runs_, &QTableWidget::itemSelectionChanged, this, [this] {
    const auto rows = runs_->selectionModel()->selectedRows();
    if (!rows.isEmpty()) showRun(runs_->item(rows.front().row(), 0)->data(Qt::UserRole).toLongLong());
  });
  connect(historyMetric_, &QComboBox::currentTextChanged, this, [this](const QString& metric) {
    showCurve(historyPlot_, shownTitle_, seriesOf(runMetrics_), metric);
  });
  return split;
}

void TrainPage::setTrainer(Trainer trainer) {
  trainer_ = std::move(trainer);
  updateButtons();
}

void TrainPage::setKind(TrainRequest::Kind kind) { kind_->setCurrentIndex(kind == TrainRequest::Prior ? 1 : 0); }

TrainRequest TrainPage::request() const {
  TrainRequest r;
  r.kind = kind_->currentIndex() == 1 ? TrainRequest::Prior : TrainRequest::Tokenizer;
  r.cataloguePath = context_.cataloguePathStd();
  r.zoo.family = zooFamily_->currentData().toString().toStdString();
  r.zoo.dataset = zooDataset_->currentData().toString().toStdString();
  r.tokenizer = tokenizer_;
  r.prior = prior_;
  r.tokenizer.device = r.prior.device = context_.device();
  r.tokenizerRunId = tokenizerRun_->currentData().toLongLong();
  return r;
}

void TrainPage::resetToDefaults() {
  tokenizer_ = TokenizerTrainOptions{};
  prior_ = PriorTrainOptions{};
  tokenizerForm_->reload();
  priorForm_->reload();
}

void TrainPage::start() {
  if (!trainer_ || jobs_->isRunning()) return;
  TrainRequest r;
  try {
    r = request();  // resolving the device may fail (CUDA gone)
  } catch (...) {
    showCurrentException(this, tr("Training"));
    return;
  }
  liveMetrics_.clear();
  liveMetric_->clear();
  live_->setSpec(PlotSpec{});
  right_->setCurrentIndex(0);
  const QString name = r.kind == TrainRequest::Prior ? tr("train prior") : tr("train tokenizer");
  log_->appendLine(tr("%1 on %2 (device %3, seed %4)")
                       .arg(name, context_.cataloguePath(), context_.deviceName())
                       .arg(r.kind == TrainRequest::Prior ? r.prior.seed : r.tokenizer.seed));
  jobs_->start(name, [trainer = trainer_, r](const JobControl& job) { trainer(r, job); });
  redraw_->start();
}

void TrainPage::cancel() {
  if (!jobs_->isRunning()) return;
  jobs_->cancel();
  log_->appendLine(tr("cancelling: the run stops at its next step and keeps its last checkpoint"));
  updateButtons();
}

void TrainPage::onProgress(const ProgressEvent& e) {
  log_->appendEvent(QString(), e);
  for (const auto& [name, value] : e.metrics) {
    auto& series = liveMetrics_[name];
    // Coalesced events may repeat a step; a curve only moves forward.
    if (!series.first.empty() && double(e.done) <= series.first.back()) continue;
    series.first.push_back(double(e.done));
    series.second.push_back(value);
    liveDirty_ = true;
  }
}

void TrainPage::redrawLive() {
  if (!liveDirty_) return;
  liveDirty_ = false;
  if (liveMetric_->count() != int(liveMetrics_.size())) refillMetricCombo(liveMetric_, liveMetrics_);
  showCurve(live_, jobs_->jobName(), liveMetrics_, liveMetric_->currentText());
}

void TrainPage::onFinished(const JobOutcome& outcome) {
  redraw_->stop();
  redrawLive();
  switch (outcome.status) {
    case JobOutcome::Finished:
      log_->appendLine(tr("finished in %1").arg(durationText(outcome.seconds)));
      break;
    case JobOutcome::Cancelled:
      log_->appendLine(tr("cancelled after %1").arg(durationText(outcome.seconds)));
      break;
    case JobOutcome::Failed:
      log_->appendLine(tr("failed: %1").arg(outcome.message));
      showJobFailure(this, tr("Training failed"), outcome);
      break;
  }
  updateButtons();
  context_.notifyCatalogueChanged();
}

void TrainPage::updateButtons() {
  const bool running = jobs_->isRunning();
  const bool prior = kind_->currentIndex() == 1;
  const bool ready = trainer_ && context_.hasCatalogue() && !context_.readOnly() &&
                     (!prior || tokenizerRun_->currentData().toLongLong() > 0);
  start_->setEnabled(!running && ready);
  cancel_->setEnabled(running && !jobs_->isCancelling());
  reset_->setEnabled(!running);
  kind_->setEnabled(!running);
  if (!trainer_)
    start_->setToolTip(tr("Training needs the training pipeline, which this build does not have yet."));
  else if (prior && tokenizerRun_->currentData().toLongLong() <= 0)
    start_->setToolTip(tr("Train a tokenizer first: the prior learns the tokens of a finished tokenizer run."));
  else
    start_->setToolTip(tr("Start training on the device chosen in the toolbar"));
}

void TrainPage::refreshHistory() {
  std::vector<RunRecord> runs;
  std::set<std::string> families;
  std::vector<std::string> datasets;
  if (context_.hasCatalogue()) {
    try {
      runs = context_.catalogue().listRuns();
      for (const auto& a : context_.catalogue().listArchitectures()) families.insert(a.family);
      for (const auto& d : context_.catalogue().listDatasets()) datasets.push_back(d.name);
    } catch (const std::exception& e) {
      runText_->setPlainText(tr("Cannot read the runs: %1").arg(QString::fromStdString(e.what())));
    }
  }
  auto refill = [](QComboBox* combo, const QString& all, const auto& names) {
    const QString current = combo->currentData().toString();
    const QSignalBlocker block(combo);
    combo->clear();
    combo->addItem(all, QString());
    for (const auto& n : names) combo->addItem(QString::fromStdString(n), QString::fromStdString(n));
    combo->setCurrentIndex(std::max(0, combo->findData(current)));
  };
  refill(zooFamily_, tr("All families"), families);
  refill(zooDataset_, tr("All datasets"), datasets);

  {
    const qlonglong current = tokenizerRun_->currentData().toLongLong();
    const QSignalBlocker block(tokenizerRun_);
    tokenizerRun_->clear();
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
      if (it->kind == "tokenizer" && it->status == "finished")
        tokenizerRun_->addItem(QStringLiteral("#%1 %2").arg(it->id).arg(QString::fromStdString(it->name)),
                               qlonglong(it->id));
    const int keep = tokenizerRun_->findData(current);
    tokenizerRun_->setCurrentIndex(keep >= 0 ? keep : 0);
  }

  const QSignalBlocker block(runs_);
  runs_->setRowCount(int(runs.size()));
  int row = 0;
  int selectedRow = -1;
  // Newest first.
  for (auto it = runs.rbegin(); it != runs.rend(); ++it, ++row) {
    const RunRecord& r = *it;
    runs_->setItem(row, 0, cell(QStringLiteral("#%1").arg(r.id), qlonglong(r.id)));
    runs_->setItem(row, 1, cell(QString::fromStdString(r.kind)));
    runs_->setItem(row, 2, cell(QString::fromStdString(r.name)));
    runs_->setItem(row, 3, cell(r.status.empty() ? tr("running") : QString::fromStdString(r.status)));
    runs_->setItem(row, 4, cell(timeText(r.createdAt)));
    runs_->setItem(row, 5, cell(timeText(r.finishedAt)));
    runs_->setItem(row, 6, cell(summaryLine(r.summary)));
    if (r.id == shownRun_) selectedRow = row;
  }
  runs_->resizeColumnsToContents();
  if (selectedRow >= 0) {
    runs_->selectRow(selectedRow);
    showRun(shownRun_);
  }
  updateButtons();
}

void TrainPage::selectRun(int64_t runId) {
  for (int row = 0; row < runs_->rowCount(); ++row)
    if (runs_->item(row, 0)->data(Qt::UserRole).toLongLong() == runId) {
      right_->setCurrentIndex(1);
      runs_->selectRow(row);
      return;
    }
}

void TrainPage::showRun(int64_t runId) {
  shownRun_ = runId;
  std::optional<RunRecord> run;
  try {
    run = context_.catalogue().run(runId);
    runMetrics_ = context_.catalogue().metrics(runId);
  } catch (const std::exception& e) {
    runText_->setPlainText(tr("Cannot read run %1: %2").arg(runId).arg(QString::fromStdString(e.what())));
    return;
  }
  if (!run) return;
  // In reading order rather than alphabetically.
  nlohmann::ordered_json shown;
  shown["id"] = run->id;
  shown["kind"] = run->kind;
  shown["name"] = run->name;
  shown["status"] = run->status.empty() ? "running" : run->status;
  shown["created_at"] = run->createdAt;
  shown["finished_at"] = run->finishedAt;
  if (run->parentRunId) shown["parent_run"] = run->parentRunId;
  if (!run->checkpointPath.empty()) shown["checkpoint"] = run->checkpointPath;
  nlohmann::json config = run->config;
  compactIntegerLists(config);
  shown["config"] = config;
  nlohmann::json summary = run->summary;
  // The codebook's per-code usage is thousands of numbers: the Analyze page plots it.
  if (summary.is_object() && summary.contains("codebook") && summary["codebook"].is_object())
    summary["codebook"].erase("usage");
  compactIntegerLists(summary);
  shown["summary"] = summary;
  runText_->setPlainText(QString::fromStdString(shown.dump(2)));
  const MetricSeries series = seriesOf(runMetrics_);
  refillMetricCombo(historyMetric_, series);
  shownTitle_ = tr("Run #%1 \u00b7 %2 %3").arg(runId).arg(QString::fromStdString(run->kind), QString::fromStdString(run->name));
  showCurve(historyPlot_, shownTitle_, series, historyMetric_->currentText());
}

}  // namespace igpg::ui
