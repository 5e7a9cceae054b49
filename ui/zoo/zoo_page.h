// The zoo page: the catalogue's models in a lazily paged, sortable table with a search
// box and filters (family, dataset, top-1 range); beside it the selected model's fields,
// its layer table and a histogram of the selected layer's weights, overlaid for several
// selected models. Import, export, delete and zoo building run as jobs.
#pragma once

#include "catalogue/import.h"
#include "jobs/job_runner.h"

#include <QFutureWatcher>
#include <QWidget>

#include <memory>
#include <vector>

class QAction;
class QComboBox;
class QDoubleSpinBox;
class QFrame;
class QLabel;
class QLineEdit;
class QSplitter;
class QTableView;
class QTableWidget;
class QTimer;

namespace igpg::ui {

class ModelTableModel;
class PlotView;
class StudioContext;

class ZooPage : public QWidget {
  Q_OBJECT
 public:
  // At most this many selected models are overlaid in the histogram.
  static constexpr int kMaxOverlaid = 8;

  explicit ZooPage(StudioContext& context, QWidget* parent = nullptr);
  ~ZooPage() override;

  ModelTableModel* tableModel() const { return model_; }
  QTableView* tableView() const { return table_; }
  QTableWidget* layerTable() const { return layers_; }
  PlotView* histogramView() const { return histogram_; }
  JobRunner* jobs() const { return jobs_; }
  QSplitter* splitter() const { return splitter_; }

  QAction* importAction() const { return importAction_; }
  QAction* exportAction() const { return exportAction_; }
  QAction* deleteAction() const { return deleteAction_; }
  QAction* buildZooAction() const { return buildZooAction_; }

  // The filter controls (tests and the window set them as a user would).
  void setSearchText(const QString& text);
  void setFamilyFilter(const QString& family);    // empty: all
  void setDatasetFilter(const QString& dataset);  // empty: all
  void setTop1Range(double minPercent, double maxPercent);

  std::vector<int64_t> selectedIds() const;
  void selectRows(const std::vector<int>& rows);
  // Shows the histogram of this layer (of every selected model that has it).
  void selectLayer(const QString& name);

  // The jobs behind the actions, without their dialogs.
  void startImport(const QStringList& files, const ImportOptions& options);
  void startExport(int64_t modelId, const QString& path);
  void startRemove(const std::vector<int64_t>& ids);
  // Builds (or completes) the zoo of a recipe: an embedded name ("default") or a file.
  void startBuildZoo(const QString& recipe);

 public slots:
  // Re-reads the filter choices and counts again (the catalogue changed, or F5).
  void refresh();

 signals:
  // The details of the current selection are on screen (fields, layers, histogram).
  void detailsShown();

 private:
  struct Details;
  void buildFilterBar(QWidget* parent);
  QWidget* buildDetails();
  void applyFilter();
  void reloadFilterChoices();
  void onSelectionChanged();
  void loadDetails();
  void showDetails(const std::shared_ptr<Details>& details);
  void showLayerTable();
  void updateHistogram();
  void updateActions();
  void updateCount();
  void chooseImport();
  void chooseExport();
  void confirmRemove();
  void chooseBuildZoo();

  StudioContext& context_;
  ModelTableModel* model_ = nullptr;
  QTableView* table_ = nullptr;
  QSplitter* splitter_ = nullptr;
  QLineEdit* search_ = nullptr;
  QComboBox* family_ = nullptr;
  QComboBox* dataset_ = nullptr;
  QDoubleSpinBox* minTop1_ = nullptr;
  QDoubleSpinBox* maxTop1_ = nullptr;
  QLabel* count_ = nullptr;
  QFrame* emptyBanner_ = nullptr;
  QLabel* fields_ = nullptr;
  QTableWidget* layers_ = nullptr;
  PlotView* histogram_ = nullptr;
  QTimer* filterDelay_ = nullptr;
  QTimer* selectionDelay_ = nullptr;
  JobRunner* jobs_ = nullptr;
  QAction* importAction_ = nullptr;
  QAction* exportAction_ = nullptr;
  QAction* deleteAction_ = nullptr;
  QAction* buildZooAction_ = nullptr;

  QFutureWatcher<std::shared_ptr<Details>> detailsWatcher_;
  std::shared_ptr<Details> details_;
  int detailsRequest_ = 0;  // newest request; older answers are dropped
  QString layer_;
};

}  // namespace igpg::ui
