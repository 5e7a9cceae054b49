// The zoo as a table model that never holds the whole catalogue: it counts the rows of
// the current filter once, then fetches pages of rows (Catalogue::listModels with limit,
// offset and orderBy) as the view asks for them, keeping the most recently used pages.
// A catalogue of 100,000 checkpoints opens with one count and one page, and scrolling
// costs a page query (milliseconds) every kPageSize rows. Sorting and filtering are the
// catalogue's (SQL ORDER BY / WHERE), so a sorted column is sorted over every row.
#pragma once

#include "catalogue/catalogue.h"

#include <QAbstractTableModel>

#include <list>
#include <unordered_map>
#include <vector>

namespace igpg::ui {

class ModelTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Id, Architecture, Family, Dataset, Seed, Epoch, Top1, Top5, Params, Source, ColumnCount };
  static constexpr int kPageSize = 256;
  static constexpr size_t kCachedPages = 64;
  // Qt::UserRole: the cell's raw value (a number, or an invalid QVariant for unknown ones).
  static constexpr int RawRole = Qt::UserRole;
  static constexpr int IdRole = Qt::UserRole + 1;

  explicit ModelTableModel(QObject* parent = nullptr);

  // The GUI thread's catalogue to page through; nullptr shows no rows.
  void setCatalogue(Catalogue* catalogue);
  // Which models to show; orderBy, descending, limit and offset are the model's own (sort()).
  void setFilter(const ModelFilter& filter);
  const ModelFilter& filter() const { return filter_; }
  // Counts again and forgets every cached page (after an import, or another program wrote).
  void refresh();

  // The model at `row`, fetching its page if needed; nullptr outside the table or when
  // the page cannot be read.
  const ModelRecord* record(int row) const;
  int64_t modelId(int row) const;
  int64_t totalCount() const { return count_; }
  int pagesFetched() const { return pagesFetched_; }  // since the last reset
  static const char* columnKey(int column);  // ModelFilter::orderBy of a column

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
  void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

 signals:
  // A count or a page could not be read (the file vanished, a newer schema, ...).
  void loadFailed(const QString& message) const;

 private:
  const std::vector<ModelRecord>* page(int index) const;
  void resetRows();

  Catalogue* catalogue_ = nullptr;
  ModelFilter filter_;
  int64_t count_ = 0;
  mutable std::unordered_map<int, std::vector<ModelRecord>> pages_;
  mutable std::list<int> recent_;  // page indices, most recent first
  mutable int pagesFetched_ = 0;
};

}  // namespace igpg::ui
