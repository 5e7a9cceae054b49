#include "generate/generate_page.h"

#include "app/format.h"
#include "app/messages.h"
#include "app/studio_context.h"
#include "catalogue/catalogue.h"
#include "common/error.h"
#include "data/dataset.h"
#include "evaluation/catalogue_figures.h"
#include "formats/weights_file.h"
#include "jobs/job_progress.h"
#include "plots/plot_view.h"
#include "train/option_form.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSplitter>
#include <QStyle>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace igpg::ui {

namespace {

QTableWidgetItem* numberCell(double value, const QString& text) {
  auto* item = new QTableWidgetItem(text);
  item->setData(Qt::UserRole, value);
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

// Novelty as the sample's distance to its nearest training checkpoint relative to the
// typical distance between two checkpoints (near 0: a copy), with the nearest checkpoint
// and how often the two agree on the test set; the whole record in the tooltip.
QTableWidgetItem* noveltyCell(const nlohmann::json& novelty) {
  const auto number = [&](const char* key) {
    return novelty.is_object() && novelty.contains(key) && novelty[key].is_number() ? novelty[key].get<double>() : NAN;
  };
  const double relative = number("relative_distance");
  QString text = numberText(relative);
  if (const double nearest = number("nearest_model"); !std::isnan(nearest)) {
    text += QObject::tr(" (nearest #%1").arg(qlonglong(nearest));
    if (const double agreement = number("agreement"); !std::isnan(agreement))
      text += QObject::tr(", agrees %1%").arg(agreement * 100, 0, 'f', 1);
    text += QLatin1Char(')');
  }
  auto* item = numberCell(relative, text);
  if (!novelty.is_null()) item->setToolTip(QString::fromStdString(novelty.dump(2)));
  return item;
}

}  // namespace

GeneratePage::GeneratePage(StudioContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  jobs_ = new JobRunner(this);
  jobs_->setObjectName(QStringLiteral("generateJobs"));
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  auto* splitter = new QSplitter(Qt::Horizontal, this);
  splitter->setObjectName(QStringLiteral("generateSplitter"));
  layout->addWidget(splitter);

  auto* left = new QWidget(splitter);
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  auto* target = new QGroupBox(tr("Target"), left);
  auto* targetForm = new QFormLayout(target);
  architecture_ = new QComboBox(target);
  architecture_->setObjectName(QStringLiteral("generateArchitecture"));
  architecture_->setEditable(true);
  architecture_->setInsertPolicy(QComboBox::NoInsert);
  architecture_->setToolTip(tr("An architecture of the catalogue, or a SPEC such as resnet20 or "
                               "{\"family\": \"mlp\", \"hidden\": [64]}"));
  description_ = new QLabel(target);
  description_->setObjectName(QStringLiteral("architectureDescription"));
  description_->setWordWrap(true);
  description_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  description_->setStyleSheet(QStringLiteral("color: #444;"));
  dataset_ = new QComboBox(target);
  dataset_->setObjectName(QStringLiteral("generateDataset"));
  dataset_->setEditable(true);
  dataset_->setInsertPolicy(QComboBox::NoInsert);
  priorRun_ = new QComboBox(target);
  priorRun_->setObjectName(QStringLiteral("priorRun"));
  priorRun_->setToolTip(tr("The finished prior run to sample from"));
  targetForm->addRow(tr("Architecture:"), architecture_);
  targetForm->addRow(QString(), description_);
  targetForm->addRow(tr("Dataset:"), dataset_);
  targetForm->addRow(tr("Prior run:"), priorRun_);
  leftLayout->addWidget(target);

  auto* samplingBox = new QGroupBox(tr("Sampling"), left);
  auto* samplingLayout = new QVBoxLayout(samplingBox);
  samplingLayout->setContentsMargins(0, 0, 0, 0);
  form_ = new OptionForm(samplingBox);
  form_->setObjectName(QStringLiteral("samplingForm"));
  form_->addInt("samples", tr("Samples:"), &samples_, 1, 10000, tr("Networks to generate"));
  form_->addNumber("temperature", tr("Temperature:"), &sampling_.temperature, 0, 100,
                   tr("Softmax temperature; 0 picks the most likely token (greedy)"));
  form_->addInt("topK", tr("Top-k:"), &sampling_.topK, 0, 1 << 20, tr("Keep the k most likely tokens; 0 keeps all"));
  form_->addNumber("topP", tr("Top-p:"), &sampling_.topP, 0.001, 1, tr("Nucleus sampling; 1 keeps all"));
  form_->addInt("streams", tr("Streams:"), &sampling_.streams, 1, 4096,
                tr("For networks longer than the prior's context: generate this many parts side by side, each "
                   "block by block; faster on a GPU, but each seam loses the context carried across it"));
  form_->addChoice("stratified", tr("Draws:"), &sampling_.stratified,
                   {{tr("Spread over the prior's branches"), true}, {tr("Independent"), false}},
                   tr("Spread: the samples share one systematic draw while their tokens agree, so they cover the "
                      "prior's branches in proportion to their probabilities; each sample alone is still a draw "
                      "from the prior"));
  form_->addNumber("branchTemperature", tr("Branch temperature:"), &sampling_.branchTemperature, 0, 100,
                   tr("Temperature at which the spread samples part where no token can take them all, choosing "
                      "between the prior's branches (which zoo member to continue); 1 keeps the prior's own odds, "
                      "0 uses the temperature above"));
  form_->addSeed("seed", tr("Seed:"), &sampling_.seed,
                 tr("Seed of the sampler: the same seed draws the same samples again on the same kind of device"));
  form_->addInt("fineTuneEpochs", tr("Fine-tune epochs:"), &fineTuneEpochs_, 0, 1000,
                tr("Train the samples and as many random initializations this many epochs on the dataset and "
                   "record both curves (the Analyze page plots them); 0 skips it"));
  samplingLayout->addWidget(form_);
  leftLayout->addWidget(samplingBox);

  generate_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Generate"), left);
  generate_->setObjectName(QStringLiteral("generate"));
  generate_->setDefault(true);
  leftLayout->addWidget(generate_);
  leftLayout->addStretch(1);

  auto* right = new QWidget(splitter);
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  progress_ = new JobProgress(right);
  progress_->watch(jobs_);
  rightLayout->addWidget(progress_);
  summary_ = new QLabel(right);
  summary_->setObjectName(QStringLiteral("generateSummary"));
  rightLayout->addWidget(summary_);
  results_ = new QTableWidget(0, 8);
  results_->setObjectName(QStringLiteral("generateResults"));
  results_->setHorizontalHeaderLabels({tr("Sample"), tr("Prior run"), tr("Seed"), tr("Top-1 %"), tr("Top-5 %"),
                                       tr("Gap to pretrained (pp)"), tr("Novelty (nearest / typical distance)"), tr("Saved as")});
  results_->horizontalHeaderItem(5)->setToolTip(
      tr("Top-1 minus the mean top-1 of the pretrained models of this architecture and dataset, in percentage points"));
  results_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  results_->setSelectionBehavior(QAbstractItemView::SelectRows);
  results_->setAlternatingRowColors(true);
  results_->verticalHeader()->setVisible(false);
  results_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
  results_->horizontalHeader()->setStretchLastSection(true);
  accuracy_ = new PlotView(right);
  accuracy_->setObjectName(QStringLiteral("generateAccuracy"));
  auto* resultsSplit = new QSplitter(Qt::Vertical, right);
  resultsSplit->setObjectName(QStringLiteral("generateResultsSplitter"));
  resultsSplit->addWidget(results_);
  resultsSplit->addWidget(accuracy_);
  resultsSplit->setStretchFactor(0, 1);
  resultsSplit->setStretchFactor(1, 2);
  rightLayout->addWidget(resultsSplit, 1);
  auto* buttons = new QHBoxLayout;
  save_ = new QPushButton(style()->standardIcon(QStyle::SP_DialogApplyButton), tr("Save to Zoo"), right);
  save_->setObjectName(QStringLiteral("saveSamples"));
  save_->setToolTip(tr("Add the selected samples to the catalogue's zoo as models (source \"generated\")"));
  export_ = new QPushButton(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Export\u2026"), right);
  export_->setObjectName(QStringLiteral("exportSample"));
  export_->setToolTip(tr("Write the selected sample's weights to a .safetensors or .pt file"));
  buttons->addStretch(1);
  buttons->addWidget(save_);
  buttons->addWidget(export_);
  rightLayout->addLayout(buttons);
  splitter->addWidget(left);
  splitter->addWidget(right);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({380, 900});

  connect(architecture_, &QComboBox::currentTextChanged, this, [this] {
    describeArchitecture();
    showResults();
  });
  connect(dataset_, &QComboBox::currentTextChanged, this, &GeneratePage::showResults);
  connect(priorRun_, &QComboBox::currentIndexChanged, this, &GeneratePage::updateButtons);
  connect(results_, &QTableWidget::itemSelectionChanged, this, &GeneratePage::updateButtons);
  connect(generate_, &QPushButton::clicked, this, &GeneratePage::startGenerate);
  connect(save_, &QPushButton::clicked, this, [this] { startSave(selectedSampleIds()); });
  connect(export_, &QPushButton::clicked, this, &GeneratePage::chooseExport);
  connect(jobs_, &JobRunner::started, this, &GeneratePage::updateButtons);
  connect(jobs_, &JobRunner::finished, this, &GeneratePage::updateButtons);
  connect(&context_, &StudioContext::catalogueChanged, this, &GeneratePage::refresh);
  refresh();
}

void GeneratePage::setGenerator(Generator generator) {
  generator_ = std::move(generator);
  updateButtons();
}

void GeneratePage::setSampleSaver(SampleSaver saver) {
  saver_ = std::move(saver);
  updateButtons();
}

void GeneratePage::setArchitecture(const QString& nameOrSpec) { architecture_->setCurrentText(nameOrSpec); }
void GeneratePage::setDataset(const QString& name) { dataset_->setCurrentText(name); }

GenerateRequest GeneratePage::request() const {
  GenerateRequest r;
  r.cataloguePath = context_.cataloguePathStd();
  r.architecture = architecture_->currentText().trimmed().toStdString();
  r.dataset = dataset_->currentText().trimmed().toStdString();
  r.priorRunId = priorRun_->currentData().toLongLong();
  r.samples = samples_;
  r.sampling = sampling_;
  r.fineTuneEpochs = fineTuneEpochs_;
  r.device = context_.device();
  return r;
}

void GeneratePage::refresh() {
  if (!context_.hasCatalogue()) return;
  std::vector<ArchitectureRecord> architectures;
  std::vector<DatasetRecord> datasets;
  std::vector<RunRecord> priors;
  try {
    architectures = context_.catalogue().listArchitectures();
    datasets = context_.catalogue().listDatasets();
    priors = context_.catalogue().listRuns("prior");
  } catch (const std::exception& e) {
    summary_->setText(tr("Cannot read the catalogue: %1").arg(QString::fromStdString(e.what())));
    return;
  }
  auto refill = [](QComboBox* combo, const QStringList& items) {
    const QString current = combo->currentText();
    const QSignalBlocker block(combo);
    combo->clear();
    combo->addItems(items);
    combo->setCurrentText(current.isEmpty() && !items.isEmpty() ? items.front() : current);
  };
  QStringList names, datasetNames;
  for (const auto& a : architectures) names << QString::fromStdString(a.name);
  for (const auto& d : datasets) datasetNames << QString::fromStdString(d.name);
  for (const auto& b : builtinDatasetNames())
    if (!datasetNames.contains(QString::fromStdString(b))) datasetNames << QString::fromStdString(b);
  refill(architecture_, names);
  refill(dataset_, datasetNames);
  {
    const qlonglong current = priorRun_->currentData().toLongLong();
    const QSignalBlocker block(priorRun_);
    priorRun_->clear();
    for (auto it = priors.rbegin(); it != priors.rend(); ++it)
      if (it->status == "finished")
        priorRun_->addItem(QStringLiteral("#%1 %2").arg(it->id).arg(QString::fromStdString(it->name)), qlonglong(it->id));
    priorRun_->setCurrentIndex(std::max(0, priorRun_->findData(current)));
  }
  describeArchitecture();
  showResults();
}

void GeneratePage::describeArchitecture() {
  const std::string name = architecture_->currentText().trimmed().toStdString();
  if (name.empty() || !context_.hasCatalogue()) {
    description_->clear();
    return;
  }
  try {
    if (const auto a = context_.catalogue().findArchitecture(name)) {
      QString text = a->description.empty() ? QString::fromStdString(a->family) : QString::fromStdString(a->description);
      if (a->numParams > 0) text += tr("<br><b>%1</b> parameters").arg(QLocale().toString(qlonglong(a->numParams)));
      description_->setText(text);
      return;
    }
  } catch (const std::exception& e) {
    description_->setText(QString::fromStdString(e.what()).toHtmlEscaped());
    return;
  }
  description_->setText(tr("Not in the catalogue: read as a SPEC when generating."));
}

void GeneratePage::showResults() {
  const std::string architecture = architecture_->currentText().trimmed().toStdString();
  const std::string dataset = dataset_->currentText().trimmed().toStdString();
  std::vector<SampleRecord> samples;
  std::vector<ModelRecord> models;
  if (context_.hasCatalogue() && !architecture.empty() && !dataset.empty()) {
    try {
      for (auto& s : context_.catalogue().samples())
        if (s.architecture == architecture && s.dataset == dataset) samples.push_back(std::move(s));
      ModelFilter f;
      f.architecture = architecture;
      f.dataset = dataset;
      models = context_.catalogue().listModels(f);
    } catch (const std::exception& e) {
      summary_->setText(tr("Cannot read the catalogue: %1").arg(QString::fromStdString(e.what())));
      return;
    }
  }
  const auto pairs = pairAccuracies(models, samples);
  const double pretrainedMean = pairs.empty() ? NAN : pairs.front().pretrained;
  if (samples.empty())
    summary_->setText(tr("No samples of this architecture and dataset yet."));
  else if (pairs.empty())
    summary_->setText(tr("%1; no pretrained models with an accuracy to compare with.")
                         .arg(countText(int64_t(samples.size()), tr("sample"), tr("samples"))));
  else
    summary_->setText(tr("%1 samples: mean top-1 %2 % \u00b7 %3 pretrained models: mean top-1 %4 %")
                          .arg(pairs.front().samples)
                          .arg(percentText(pairs.front().generated))
                          .arg(pairs.front().models)
                          .arg(percentText(pretrainedMean)));

  const QSignalBlocker block(results_);
  results_->setSortingEnabled(false);
  results_->setRowCount(int(samples.size()));
  for (int row = 0; row < int(samples.size()); ++row) {
    const SampleRecord& s = samples[size_t(row)];
    auto* id = new QTableWidgetItem(QStringLiteral("#%1").arg(s.id));
    id->setData(Qt::UserRole, qlonglong(s.id));
    results_->setItem(row, 0, id);
    results_->setItem(row, 1, new QTableWidgetItem(s.runId ? QStringLiteral("#%1").arg(s.runId) : QString()));
    results_->setItem(row, 2, numberCell(double(s.seed), s.seed < 0 ? QStringLiteral("\u2013") : QString::number(s.seed)));
    results_->setItem(row, 3, numberCell(s.top1, percentText(s.top1)));
    results_->setItem(row, 4, numberCell(s.top5, percentText(s.top5)));
    const double gap = s.top1 - pretrainedMean;
    results_->setItem(row, 5, numberCell(gap, std::isnan(gap) ? QStringLiteral("\u2013")
                                                              : QString::asprintf("%+.2f", 100.0 * gap)));
    results_->setItem(row, 6, noveltyCell(s.novelty));
    results_->setItem(row, 7, new QTableWidgetItem(s.modelId ? tr("model #%1").arg(s.modelId) : QString()));
  }
  results_->resizeColumnsToContents();
  const QString title = tr("Top-1 accuracy: %1 on %2")
                            .arg(QString::fromStdString(architecture), QString::fromStdString(dataset));
  try {
    accuracy_->setSpec(accuracyHistogram(title.toStdString(), models, samples));
  } catch (const Error&) {
    PlotSpec empty;
    empty.title = title.toStdString();
    empty.annotations.push_back(tr("no accuracies yet").toStdString());
    accuracy_->setSpec(empty);
  }
  updateButtons();
  emit resultsShown();
}

std::vector<int64_t> GeneratePage::selectedSampleIds() const {
  std::vector<int64_t> ids;
  for (const QModelIndex& index : results_->selectionModel()->selectedRows())
    ids.push_back(results_->item(index.row(), 0)->data(Qt::UserRole).toLongLong());
  return ids;
}

void GeneratePage::updateButtons() {
  const bool idle = !jobs_->isRunning();
  const bool writable = context_.hasCatalogue() && !context_.readOnly();
  const bool ready = generator_ && writable && priorRun_->currentData().toLongLong() > 0;
  generate_->setEnabled(idle && ready);
  if (!generator_)
    generate_->setToolTip(tr("Generation needs the generation pipeline, which this build does not have yet."));
  else if (priorRun_->count() == 0)
    generate_->setToolTip(tr("Train a prior first (Train page): generation samples a finished prior run."));
  else
    generate_->setToolTip(tr("Generate, evaluate and store the samples on the device chosen in the toolbar"));
  const auto selected = results_->selectionModel()->selectedRows().size();
  save_->setEnabled(idle && writable && saver_ && selected > 0);
  export_->setEnabled(idle && selected == 1);
}

void GeneratePage::startGenerate() {
  if (!generator_) return;
  GenerateRequest r;
  try {
    r = request();
  } catch (...) {
    showCurrentException(this, tr("Generate"));
    return;
  }
  jobs_->start(
      tr("generate %1 on %2").arg(QString::fromStdString(r.architecture), QString::fromStdString(r.dataset)),
      [generator = generator_, r](const JobControl& job) { generator(r, job); },
      [this](const JobOutcome& outcome) {
        if (outcome.status == JobOutcome::Failed) showJobFailure(this, tr("Generation failed"), outcome);
        context_.notifyCatalogueChanged();
      });
}

void GeneratePage::startSave(const std::vector<int64_t>& sampleIds) {
  if (!saver_ || sampleIds.empty()) return;
  const std::string path = context_.cataloguePathStd();
  jobs_->start(
      tr("Save %1 to the zoo").arg(countText(int64_t(sampleIds.size()), tr("sample"), tr("samples"))),
      [saver = saver_, path, sampleIds](const JobControl& job) {
        auto c = Catalogue::open(path);
        Catalogue::WriteTransaction tx(*c);
        for (int64_t id : sampleIds) {
          job.cancel.throwIfCancelled("save samples");
          saver(*c, id);
        }
        tx.commit();
      },
      [this](const JobOutcome& outcome) {
        if (outcome.status == JobOutcome::Failed) showJobFailure(this, tr("Saving failed"), outcome);
        context_.notifyCatalogueChanged();
      });
}

void GeneratePage::chooseExport() {
  const auto ids = selectedSampleIds();
  if (ids.size() != 1) return;
  const QString suggested = QStringLiteral("%1_%2_sample%3.safetensors")
                                .arg(architecture_->currentText(), dataset_->currentText())
                                .arg(ids.front());
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export sample"), suggested, tr("safetensors (*.safetensors);;PyTorch state dict (*.pt *.pth)"));
  if (!path.isEmpty()) startExport(ids.front(), path);
}

void GeneratePage::startExport(int64_t sampleId, const QString& path) {
  const std::string catalogue = context_.cataloguePathStd();
  const std::string out = path.toStdString();
  jobs_->start(
      tr("Export sample %1").arg(sampleId),
      [catalogue, sampleId, out](const JobControl&) {
        auto c = Catalogue::open(catalogue, Catalogue::ReadOnly);
        const auto s = c->sample(sampleId);
        if (!s) fail(ErrorKind::NotFound, "sample " + std::to_string(sampleId), "no such sample in " + catalogue);
        saveWeightsFile(out, c->loadWeights(*s));
      },
      [this, path](const JobOutcome& outcome) {
        if (outcome.status == JobOutcome::Failed) showJobFailure(this, tr("Export failed"), outcome);
        else if (outcome.ok()) showInformation(this, tr("Export"), tr("Wrote %1.").arg(path));
      });
}

}  // namespace igpg::ui
