#include "zoo/zoo_page.h"

#include "app/format.h"
#include "app/messages.h"
#include "app/number_delegate.h"
#include "app/studio_context.h"
#include "catalogue/catalogue.h"
#include "common/error.h"
#include "data/dataset.h"
#include "evaluation/plot_spec.h"
#include "formats/tensor_stats.h"
#include "formats/weights_file.h"
#include "plots/plot_view.h"
#include "zoo/import_dialog.h"
#include "zoo/model_table_model.h"
#include "jobs/workspace.h"
#include "zoo/recipe.h"
#include "zoo/zoo_builder.h"

#include <QAction>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QSet>
#include <QSplitter>
#include <QStyle>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <set>

namespace igpg::ui {

// What the details pane shows, read off the GUI thread.
struct ZooPage::Details {
  int request = 0;
  std::vector<ModelRecord> models;
  std::vector<StateDict> weights;   // one per model
  std::vector<TensorStats> layers;  // of the first model
  QString error;
};

namespace {

QString modelLabel(const ModelRecord& m) {
  QString label = QStringLiteral("#%1 %2").arg(m.id).arg(QString::fromStdString(m.architecture));
  if (m.seed >= 0) label += QStringLiteral(" seed %1").arg(m.seed);
  if (m.epoch >= 0) label += QStringLiteral(" ep %1").arg(m.epoch);
  return label;
}

QString fieldsHtml(const std::vector<ModelRecord>& models) {
  auto row = [](const QString& key, const QString& value) {
    return QStringLiteral("<tr><td style='color:#555;padding-right:12px'>%1</td><td>%2</td></tr>")
        .arg(key, value.toHtmlEscaped());
  };
  auto orUnknown = [](int64_t v) { return v < 0 ? QStringLiteral("\u2013") : QString::number(v); };
  QString html = QStringLiteral("<table cellspacing='1'>");
  if (models.size() == 1) {
    const ModelRecord& m = models.front();
    html += row(QObject::tr("Model"), QStringLiteral("#%1").arg(m.id));
    html += row(QObject::tr("Architecture"),
                QStringLiteral("%1 (%2)").arg(QString::fromStdString(m.architecture), QString::fromStdString(m.family)));
    html += row(QObject::tr("Dataset"), QString::fromStdString(m.dataset));
    html += row(QObject::tr("Source"), QString::fromStdString(m.source));
    html += row(QObject::tr("Seed / epoch"), orUnknown(m.seed) + QStringLiteral(" / ") + orUnknown(m.epoch));
    html += row(QObject::tr("Top-1 / top-5"),
                QStringLiteral("%1 % / %2 %").arg(percentText(m.top1), percentText(m.top5)));
    html += row(QObject::tr("Test loss"), numberText(m.loss));
    html += row(QObject::tr("Parameters"), QLocale().toString(qlonglong(m.numParams)));
    html += row(QObject::tr("Weights"), QString::fromStdString(m.blobSha256.substr(0, 16)) + QStringLiteral("\u2026"));
    html += row(QObject::tr("Added"), QString::fromStdString(m.createdAt));
    if (m.metadata.contains("imported_from"))
      html += row(QObject::tr("Imported from"), QString::fromStdString(m.metadata["imported_from"].get<std::string>()));
  } else {
    html += row(QObject::tr("Selected"), QObject::tr("%1 models; histograms overlaid").arg(models.size()));
    for (const auto& m : models)
      html += row(modelLabel(m), QStringLiteral("%1 \u00b7 top-1 %2 %").arg(QString::fromStdString(m.dataset),
                                                                           percentText(m.top1)));
  }
  return html + QStringLiteral("</table>");
}

QTableWidgetItem* numberItem(const QVariant& value) {
  auto* item = new QTableWidgetItem;
  item->setData(Qt::DisplayRole, value);
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

}  // namespace

ZooPage::ZooPage(StudioContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  jobs_ = new JobRunner(this);
  jobs_->setObjectName(QStringLiteral("zooJobs"));
  model_ = new ModelTableModel(this);
  filterDelay_ = new QTimer(this);
  filterDelay_->setSingleShot(true);
  filterDelay_->setInterval(200);
  connect(filterDelay_, &QTimer::timeout, this, &ZooPage::applyFilter);
  selectionDelay_ = new QTimer(this);
  selectionDelay_->setSingleShot(true);
  selectionDelay_->setInterval(120);
  connect(selectionDelay_, &QTimer::timeout, this, &ZooPage::loadDetails);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  splitter_ = new QSplitter(Qt::Horizontal, this);
  splitter_->setObjectName(QStringLiteral("zooSplitter"));
  layout->addWidget(splitter_);

  auto* left = new QWidget(splitter_);
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  buildFilterBar(left);

  emptyBanner_ = new QFrame(left);
  emptyBanner_->setObjectName(QStringLiteral("emptyBanner"));
  emptyBanner_->setFrameShape(QFrame::StyledPanel);
  emptyBanner_->setStyleSheet(QStringLiteral("#emptyBanner { background: #fff8e1; border: 1px solid #e0c060; }"));
  auto* bannerLayout = new QHBoxLayout(emptyBanner_);
  auto* bannerText = new QLabel(tr("<b>The catalogue is empty.</b> Build the default zoo (small networks trained on "
                                   "the built-in datasets) or import weight files to start."),
                                emptyBanner_);
  bannerText->setWordWrap(true);
  bannerLayout->addWidget(bannerText, 1);
  leftLayout->addWidget(emptyBanner_);

  table_ = new QTableView(left);
  table_->setObjectName(QStringLiteral("zooTable"));
  table_->setModel(model_);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setAlternatingRowColors(true);
  table_->setWordWrap(false);
  table_->verticalHeader()->setVisible(false);
  // Fixed row heights: the view never measures the rows it does not show, so a
  // 100,000-row table lays out as fast as a short one.
  table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
  table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->horizontalHeader()->setHighlightSections(false);
  const int digit = fontMetrics().horizontalAdvance(QLatin1Char('0'));
  const int widths[ModelTableModel::ColumnCount] = {7, 16, 9, 16, 6, 6, 8, 8, 11, 10};
  for (int c = 0; c < ModelTableModel::ColumnCount; ++c) table_->setColumnWidth(c, widths[c] * digit + 16);
  table_->setSortingEnabled(true);
  table_->sortByColumn(ModelTableModel::Id, Qt::AscendingOrder);
  leftLayout->addWidget(table_, 1);
  splitter_->addWidget(left);
  splitter_->addWidget(buildDetails());
  splitter_->setStretchFactor(0, 3);
  splitter_->setStretchFactor(1, 2);
  splitter_->setSizes({820, 620});

  importAction_ = new QAction(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Import Weights\u2026"), this);
  importAction_->setToolTip(tr("Import weight files or a folder of them into the catalogue"));
  importAction_->setShortcut(QKeySequence(tr("Ctrl+I")));
  exportAction_ = new QAction(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("&Export Weights\u2026"), this);
  exportAction_->setToolTip(tr("Write the selected model's weights to a .safetensors or .pt file"));
  exportAction_->setShortcut(QKeySequence(tr("Ctrl+E")));
  deleteAction_ = new QAction(style()->standardIcon(QStyle::SP_TrashIcon), tr("&Delete Models"), this);
  deleteAction_->setToolTip(tr("Remove the selected models from the catalogue"));
  deleteAction_->setShortcut(QKeySequence::Delete);
  buildZooAction_ = new QAction(style()->standardIcon(QStyle::SP_FileDialogNewFolder), tr("&Build Zoo\u2026"), this);
  buildZooAction_->setToolTip(tr("Train a zoo of models from a recipe"));
  for (QAction* a : {importAction_, exportAction_, deleteAction_}) addAction(a);
  connect(importAction_, &QAction::triggered, this, &ZooPage::chooseImport);
  connect(exportAction_, &QAction::triggered, this, &ZooPage::chooseExport);
  connect(deleteAction_, &QAction::triggered, this, &ZooPage::confirmRemove);
  connect(buildZooAction_, &QAction::triggered, this, &ZooPage::chooseBuildZoo);

  auto* bannerImport = new QPushButton(importAction_->icon(), tr("Import Weights\u2026"), emptyBanner_);
  auto* bannerBuild = new QPushButton(buildZooAction_->icon(), tr("Build the Default Zoo"), emptyBanner_);
  bannerBuild->setObjectName(QStringLiteral("buildDefaultZoo"));
  bannerLayout->addWidget(bannerBuild);
  bannerLayout->addWidget(bannerImport);
  connect(bannerImport, &QPushButton::clicked, importAction_, &QAction::trigger);
  connect(bannerBuild, &QPushButton::clicked, buildZooAction_, &QAction::trigger);
  connect(buildZooAction_, &QAction::changed, bannerBuild, [bannerBuild, this] {
    bannerBuild->setEnabled(buildZooAction_->isEnabled());
    bannerBuild->setToolTip(buildZooAction_->toolTip());
  });

  connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &ZooPage::onSelectionChanged);
  connect(model_, &QAbstractItemModel::modelReset, this, &ZooPage::onSelectionChanged);
  connect(model_, &ModelTableModel::loadFailed, this,
          [this](const QString& message) { count_->setText(tr("Cannot read the catalogue: %1").arg(message)); });
  connect(&detailsWatcher_, &QFutureWatcher<std::shared_ptr<Details>>::finished, this, [this] {
    const auto d = detailsWatcher_.result();
    if (d->request == detailsRequest_) showDetails(d);
  });
  connect(jobs_, &JobRunner::started, this, &ZooPage::updateActions);
  connect(jobs_, &JobRunner::finished, this, &ZooPage::updateActions);
  connect(&context_, &StudioContext::catalogueOpened, this, [this] {
    model_->setCatalogue(context_.hasCatalogue() ? &context_.catalogue() : nullptr);
  });
  connect(&context_, &StudioContext::catalogueChanged, this, &ZooPage::refresh);
  if (context_.hasCatalogue()) model_->setCatalogue(&context_.catalogue());
  refresh();
}

ZooPage::~ZooPage() { detailsWatcher_.waitForFinished(); }

void ZooPage::buildFilterBar(QWidget* parent) {
  auto* bar = new QHBoxLayout;
  search_ = new QLineEdit(parent);
  search_->setObjectName(QStringLiteral("zooSearch"));
  search_->setPlaceholderText(tr("Search architecture, family, dataset, source"));
  search_->setClearButtonEnabled(true);
  search_->addAction(style()->standardIcon(QStyle::SP_FileDialogContentsView), QLineEdit::LeadingPosition);
  family_ = new QComboBox(parent);
  family_->setObjectName(QStringLiteral("familyFilter"));
  family_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  dataset_ = new QComboBox(parent);
  dataset_->setObjectName(QStringLiteral("datasetFilter"));
  dataset_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  auto percentSpin = [parent](double value) {
    auto* spin = new QDoubleSpinBox(parent);
    spin->setRange(0, 100);
    spin->setDecimals(1);
    spin->setSingleStep(1);
    spin->setSuffix(QStringLiteral(" %"));
    spin->setValue(value);
    return spin;
  };
  minTop1_ = percentSpin(0);
  maxTop1_ = percentSpin(100);
  minTop1_->setToolTip(tr("Lowest top-1 accuracy; at 0 % models without an accuracy are shown too"));
  maxTop1_->setToolTip(tr("Highest top-1 accuracy; at 100 % models without an accuracy are shown too"));
  count_ = new QLabel(parent);
  count_->setObjectName(QStringLiteral("zooCount"));
  count_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);

  bar->addWidget(search_, 2);
  bar->addWidget(family_);
  bar->addWidget(dataset_);
  bar->addWidget(new QLabel(tr("Top-1"), parent));
  bar->addWidget(minTop1_);
  bar->addWidget(new QLabel(QStringLiteral("\u2013"), parent));
  bar->addWidget(maxTop1_);
  bar->addWidget(count_, 1);
  static_cast<QVBoxLayout*>(parent->layout())->addLayout(bar);

  connect(search_, &QLineEdit::textChanged, this, [this] { filterDelay_->start(); });
  connect(family_, &QComboBox::currentIndexChanged, this, &ZooPage::applyFilter);
  connect(dataset_, &QComboBox::currentIndexChanged, this, &ZooPage::applyFilter);
  connect(minTop1_, &QDoubleSpinBox::valueChanged, this, [this] { filterDelay_->start(); });
  connect(maxTop1_, &QDoubleSpinBox::valueChanged, this, [this] { filterDelay_->start(); });
}

QWidget* ZooPage::buildDetails() {
  auto* details = new QSplitter(Qt::Vertical, this);
  details->setObjectName(QStringLiteral("detailsSplitter"));
  fields_ = new QLabel(details);
  fields_->setObjectName(QStringLiteral("modelFields"));
  fields_->setTextFormat(Qt::RichText);
  fields_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  fields_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  fields_->setMargin(6);
  fields_->setWordWrap(true);

  layers_ = new QTableWidget(0, 7, details);
  layers_->setObjectName(QStringLiteral("layerTable"));
  layers_->setHorizontalHeaderLabels(
      {tr("Layer"), tr("Shape"), tr("Numel"), tr("Mean"), tr("Std"), tr("Min"), tr("Max")});
  layers_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  layers_->setSelectionBehavior(QAbstractItemView::SelectRows);
  layers_->setSelectionMode(QAbstractItemView::SingleSelection);
  layers_->setAlternatingRowColors(true);
  layers_->setItemDelegate(new NumberDelegate(layers_));
  layers_->verticalHeader()->setVisible(false);
  layers_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
  layers_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  for (int c = 1; c < 7; ++c) layers_->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
  connect(layers_, &QTableWidget::itemSelectionChanged, this, [this] {
    const auto rows = layers_->selectionModel()->selectedRows();
    if (rows.isEmpty()) return;
    const QString name = layers_->item(rows.front().row(), 0)->text();
    if (name != layer_) {
      layer_ = name;
      updateHistogram();
    }
  });

  histogram_ = new PlotView(details);
  histogram_->setObjectName(QStringLiteral("layerHistogram"));
  details->addWidget(fields_);
  details->addWidget(layers_);
  details->addWidget(histogram_);
  details->setStretchFactor(0, 0);
  details->setStretchFactor(1, 2);
  details->setStretchFactor(2, 3);
  return details;
}

void ZooPage::setSearchText(const QString& text) {
  search_->setText(text);
  applyFilter();
}

void ZooPage::setFamilyFilter(const QString& family) {
  const int i = family.isEmpty() ? 0 : family_->findData(family);
  family_->setCurrentIndex(std::max(0, i));
}

void ZooPage::setDatasetFilter(const QString& dataset) {
  const int i = dataset.isEmpty() ? 0 : dataset_->findData(dataset);
  dataset_->setCurrentIndex(std::max(0, i));
}

void ZooPage::setTop1Range(double minPercent, double maxPercent) {
  minTop1_->setValue(minPercent);
  maxTop1_->setValue(maxPercent);
  applyFilter();
}

void ZooPage::applyFilter() {
  filterDelay_->stop();
  ModelFilter f;
  f.search = search_->text().trimmed().toStdString();
  f.family = family_->currentData().toString().toStdString();
  f.dataset = dataset_->currentData().toString().toStdString();
  // At the ends of the range the bound is left out, so models without an accuracy stay.
  if (minTop1_->value() > 0) f.minTop1 = minTop1_->value() / 100.0;
  if (maxTop1_->value() < 100) f.maxTop1 = maxTop1_->value() / 100.0;
  model_->setFilter(f);
  updateCount();
}

void ZooPage::reloadFilterChoices() {
  std::set<std::string> families;
  std::vector<std::string> datasets;
  if (context_.hasCatalogue()) {
    try {
      for (const auto& a : context_.catalogue().listArchitectures()) families.insert(a.family);
      for (const auto& d : context_.catalogue().listDatasets()) datasets.push_back(d.name);
    } catch (const std::exception& e) {
      count_->setText(tr("Cannot read the catalogue: %1").arg(QString::fromStdString(e.what())));
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
  refill(family_, tr("All families"), families);
  refill(dataset_, tr("All datasets"), datasets);
}

void ZooPage::refresh() {
  reloadFilterChoices();
  applyFilter();
}

void ZooPage::updateCount() {
  int64_t all = 0;
  if (context_.hasCatalogue()) {
    try {
      all = context_.catalogue().countModels();
    } catch (const std::exception&) {
      all = model_->totalCount();
    }
  }
  const QLocale locale;
  count_->setText(model_->totalCount() == all
                      ? tr("%1 models").arg(locale.toString(qlonglong(all)))
                      : tr("%1 of %2 models").arg(locale.toString(qlonglong(model_->totalCount())),
                                                 locale.toString(qlonglong(all))));
  emptyBanner_->setVisible(context_.hasCatalogue() && all == 0);
}

std::vector<int64_t> ZooPage::selectedIds() const {
  std::vector<int64_t> ids;
  for (const QModelIndex& index : table_->selectionModel()->selectedRows()) {
    const int64_t id = model_->modelId(index.row());
    if (id > 0) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void ZooPage::selectRows(const std::vector<int>& rows) {
  QItemSelection selection;
  for (int r : rows) selection.select(model_->index(r, 0), model_->index(r, ModelTableModel::ColumnCount - 1));
  table_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
  if (!rows.empty()) table_->scrollTo(model_->index(rows.front(), 0));
}

void ZooPage::onSelectionChanged() {
  updateActions();
  selectionDelay_->start();
}

void ZooPage::loadDetails() {
  const int request = ++detailsRequest_;
  std::vector<int64_t> ids;
  for (const QModelIndex& index : table_->selectionModel()->selectedRows()) {
    ids.push_back(model_->modelId(index.row()));
    if (int(ids.size()) == kMaxOverlaid) break;
  }
  ids.erase(std::remove(ids.begin(), ids.end(), 0), ids.end());
  if (ids.empty() || !context_.hasCatalogue()) {
    auto none = std::make_shared<Details>();
    none->request = request;
    showDetails(none);
    return;
  }
  const std::string path = context_.cataloguePathStd();
  // A read on a pool thread with its own connection: large checkpoints take a moment
  // to read and hash, and the table stays responsive meanwhile.
  detailsWatcher_.setFuture(QtConcurrent::run([path, ids, request] {
    auto d = std::make_shared<Details>();
    d->request = request;
    try {
      auto catalogue = Catalogue::open(path, Catalogue::ReadOnly);
      for (int64_t id : ids) {
        auto m = catalogue->model(id);
        if (!m) continue;  // removed meanwhile
        d->weights.push_back(catalogue->loadWeights(*m));
        d->models.push_back(std::move(*m));
      }
      if (!d->weights.empty()) d->layers = tensorStats(d->weights.front());
    } catch (...) {
      d->error = outcomeOfCurrentException().message;
    }
    return d;
  }));
}

void ZooPage::showDetails(const std::shared_ptr<Details>& details) {
  details_ = details;
  if (!details->error.isEmpty())
    fields_->setText(tr("<span style='color:#b00020'>Cannot read the model: %1</span>").arg(details->error.toHtmlEscaped()));
  else if (details->models.empty())
    fields_->setText(tr("<span style='color:#777'>Select a model to see its layers and weight distributions; "
                        "select several to compare them.</span>"));
  else
    fields_->setText(fieldsHtml(details->models));
  showLayerTable();
  updateHistogram();
  updateActions();
  emit detailsShown();
}

void ZooPage::showLayerTable() {
  const QSignalBlocker block(layers_);
  layers_->setSortingEnabled(false);
  layers_->clearContents();
  layers_->setRowCount(int(details_ ? details_->layers.size() : 0));
  int selectedRow = -1;
  for (int r = 0; details_ && r < int(details_->layers.size()); ++r) {
    const TensorStats& s = details_->layers[size_t(r)];
    layers_->setItem(r, 0, new QTableWidgetItem(QString::fromStdString(s.name)));
    auto* shape = new QTableWidgetItem(shapeText(s.shape));
    shape->setToolTip(QString::fromStdString(s.dtype));
    layers_->setItem(r, 1, shape);
    layers_->setItem(r, 2, numberItem(qlonglong(s.numel)));
    layers_->setItem(r, 3, numberItem(s.mean));
    layers_->setItem(r, 4, numberItem(s.std));
    layers_->setItem(r, 5, numberItem(s.min));
    layers_->setItem(r, 6, numberItem(s.max));
    if (QString::fromStdString(s.name) == layer_) selectedRow = r;
  }
  if (selectedRow < 0 && layers_->rowCount() > 0) {
    selectedRow = 0;
    layer_ = layers_->item(0, 0)->text();
  }
  if (selectedRow >= 0) layers_->selectRow(selectedRow);
}

void ZooPage::selectLayer(const QString& name) {
  const auto found = layers_->findItems(name, Qt::MatchExactly);
  for (auto* item : found)
    if (item->column() == 0) {
      layers_->selectRow(item->row());  // updates the histogram through the selection
      return;
    }
}

void ZooPage::updateHistogram() {
  PlotSpec spec;
  spec.kind = PlotKind::Histogram;
  if (details_ && !details_->models.empty() && !layer_.isEmpty()) {
    const std::string layer = layer_.toStdString();
    std::vector<ValueSet> sets;
    for (size_t i = 0; i < details_->models.size(); ++i) {
      if (!details_->weights[i].contains(layer)) continue;
      // Legend entries stay short; the fields above say what each id is.
      sets.push_back({"#" + std::to_string(details_->models[i].id), tensorValues(details_->weights[i].at(layer))});
    }
    const QString title = details_->models.size() == 1
                              ? tr("%1 of %2").arg(layer_, modelLabel(details_->models.front()))
                              : tr("%1 of %2 models").arg(layer_).arg(sets.size());
    try {
      spec = histogram(title.toStdString(), "weight value", sets);
    } catch (const Error& e) {
      spec.title = (title + QStringLiteral(": ") + QString::fromStdString(e.message())).toStdString();
    }
  }
  histogram_->setSpec(spec);
}

void ZooPage::updateActions() {
  const bool idle = !jobs_->isRunning();
  const bool writable = context_.hasCatalogue() && !context_.readOnly();
  const int selected = table_->selectionModel()->selectedRows().size();
  importAction_->setEnabled(idle && writable);
  exportAction_->setEnabled(idle && selected == 1);
  deleteAction_->setEnabled(idle && writable && selected > 0);
  buildZooAction_->setEnabled(idle && writable);
}

void ZooPage::chooseBuildZoo() {
  QStringList recipes;
  for (const auto& name : embeddedRecipeNames()) recipes << QString::fromStdString(name);
  const QString other = tr("Recipe file\u2026");
  recipes << other;
  bool ok = false;
  const QString choice = QInputDialog::getItem(this, tr("Build Zoo"),
                                               tr("Train every model of a recipe that is not in the catalogue yet:"),
                                               recipes, std::max<qsizetype>(0, recipes.indexOf(QStringLiteral("default"))), false, &ok);
  if (!ok) return;
  if (choice != other) return startBuildZoo(choice);
  const QString file = QFileDialog::getOpenFileName(this, tr("Zoo Recipe"), {}, tr("Recipes (*.json)"));
  if (!file.isEmpty()) startBuildZoo(file);
}

void ZooPage::startBuildZoo(const QString& recipe) {
  const std::string catalogue = context_.cataloguePathStd();
  const std::string name = recipe.toStdString();
  const torch::Device device = context_.device();
  jobs_->start(
      tr("Build zoo %1").arg(recipe),
      [catalogue, name, device](const JobControl& job) {
        auto c = Catalogue::open(catalogue);
        ZooBuildOptions options;
        options.device = device;
        buildZoo(*c, loadRecipe(name), options, job);
      },
      [this](const JobOutcome& outcome) {
        if (outcome.status == JobOutcome::Failed) showJobFailure(this, tr("Building the zoo failed"), outcome);
        context_.notifyCatalogueChanged();
      });
}

void ZooPage::chooseImport() {
  QStringList architectures, datasets;
  for (const auto& name : builtinDatasetNames()) datasets << QString::fromStdString(name);
  try {
    for (const auto& a : context_.catalogue().listArchitectures()) architectures << QString::fromStdString(a.name);
    for (const auto& d : context_.catalogue().listDatasets())
      if (!datasets.contains(QString::fromStdString(d.name))) datasets << QString::fromStdString(d.name);
  } catch (...) {
    showCurrentException(this, tr("Import"));
    return;
  }
  ImportDialog dialog(architectures, datasets, this);
  if (const ModelRecord* current = model_->record(table_->currentIndex().row())) {
    dialog.setArchitecture(QString::fromStdString(current->architecture));
    dialog.setDataset(QString::fromStdString(current->dataset));
  }
  if (dialog.exec() == QDialog::Accepted) startImport(dialog.files(), dialog.options());
}

void ZooPage::startImport(const QStringList& files, const ImportOptions& options) {
  std::vector<std::string> paths;
  for (const QString& f : files) paths.push_back(f.toStdString());
  const std::string catalogue = context_.cataloguePathStd();
  auto imported = std::make_shared<std::vector<ImportedModel>>();
  jobs_->start(
      tr("Import %1").arg(countText(files.size(), tr("file"), tr("files"))),
      [catalogue, paths, options, imported](const JobControl& job) {
        auto c = Catalogue::open(catalogue);
        // The dialog names the architecture and the dataset; a SPEC checks every file.
        ImportOptions checked = importOptionsFor(*c, options.architecture.name, options.dataset.name);
        checked.source = options.source;
        checked.seed = options.seed;
        checked.epoch = options.epoch;
        *imported = importWeightFiles(*c, paths, checked, job);
      },
      [this, imported](const JobOutcome& outcome) {
        if (outcome.status == JobOutcome::Failed) showJobFailure(this, tr("Import failed"), outcome);
        if (!outcome.ok()) return;
        int duplicates = 0;
        for (const auto& m : *imported) duplicates += !m.sameWeightsAs.empty();
        QString text = tr("Imported %1.").arg(countText(int64_t(imported->size()), tr("model"), tr("models")));
        if (duplicates)
          text += QLatin1Char(' ') +
                  tr("Weights already in the catalogue (same SHA-256): %1.")
                      .arg(countText(duplicates, tr("model"), tr("models")));
        context_.notifyCatalogueChanged();
        showInformation(this, tr("Import"), text);
      });
}

void ZooPage::chooseExport() {
  const auto ids = selectedIds();
  if (ids.size() != 1) return;
  const ModelRecord* m = model_->record(table_->selectionModel()->selectedRows().front().row());
  const QString suggested = m ? QStringLiteral("%1_%2_%3.safetensors")
                                    .arg(QString::fromStdString(m->architecture), QString::fromStdString(m->dataset))
                                    .arg(m->id)
                              : QString();
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export weights"), suggested, tr("safetensors (*.safetensors);;PyTorch state dict (*.pt *.pth)"));
  if (!path.isEmpty()) startExport(ids.front(), path);
}

void ZooPage::startExport(int64_t modelId, const QString& path) {
  const std::string catalogue = context_.cataloguePathStd();
  const std::string out = path.toStdString();
  jobs_->start(
      tr("Export model %1").arg(modelId),
      [catalogue, modelId, out](const JobControl& job) {
        auto c = Catalogue::open(catalogue, Catalogue::ReadOnly);
        const auto m = c->model(modelId);
        if (!m) fail(ErrorKind::NotFound, "model " + std::to_string(modelId), "no such model in " + catalogue);
        job.cancel.throwIfCancelled("export");
        saveWeightsFile(out, exportableWeights(*c, *m));
      },
      [this, path](const JobOutcome& outcome) {
        if (outcome.status == JobOutcome::Failed) showJobFailure(this, tr("Export failed"), outcome);
        else if (outcome.ok()) showInformation(this, tr("Export"), tr("Wrote %1.").arg(path));
      });
}

void ZooPage::confirmRemove() {
  const auto ids = selectedIds();
  if (ids.empty()) return;
  const auto answer = QMessageBox::question(
      this, tr("Delete models"),
      tr("Remove %1 from the catalogue? Their weight files are deleted too unless another model or sample "
         "uses them.")
          .arg(countText(int64_t(ids.size()), tr("model"), tr("models"))),
      QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
  if (answer == QMessageBox::Yes) startRemove(ids);
}

void ZooPage::startRemove(const std::vector<int64_t>& ids) {
  const std::string catalogue = context_.cataloguePathStd();
  jobs_->start(
      tr("Delete %1").arg(countText(int64_t(ids.size()), tr("model"), tr("models"))),
      [catalogue, ids](const JobControl& job) {
        auto c = Catalogue::open(catalogue);
        job.cancel.throwIfCancelled("delete");
        Catalogue::WriteTransaction tx(*c);
        for (int64_t id : ids) c->removeModel(id);
        tx.commit();
      },
      [this](const JobOutcome& outcome) {
        if (outcome.status == JobOutcome::Failed) showJobFailure(this, tr("Delete failed"), outcome);
        context_.notifyCatalogueChanged();
      });
}

}  // namespace igpg::ui
