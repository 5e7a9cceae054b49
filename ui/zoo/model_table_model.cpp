#include "zoo/model_table_model.h"

#include "app/format.h"

#include <QLocale>

#include <algorithm>
#include <cmath>

namespace igpg::ui {

namespace {

struct ColumnInfo {
  const char* title;
  const char* key;  // ModelFilter::orderBy
  const char* tip;
};

const ColumnInfo kColumns[ModelTableModel::ColumnCount] = {
    {"ID", "id", "Catalogue id (igpg zoo show ID)"},
    {"Architecture", "architecture", "Architecture name"},
    {"Family", "family", "Architecture family"},
    {"Dataset", "dataset", "Dataset or task the weights were trained on"},
    {"Seed", "seed", "Training seed"},
    {"Epoch", "epoch", "Training epoch of the checkpoint"},
    {"Top-1 %", "top1", "Top-1 test accuracy"},
    {"Top-5 %", "top5", "Top-5 test accuracy"},
    {"Parameters", "num_params", "Number of parameters"},
    {"Source", "source", "Where the weights came from"},
};

QVariant orUnknown(int64_t v) { return v < 0 ? QVariant() : QVariant(qlonglong(v)); }
QVariant orUnknown(double v) { return std::isnan(v) ? QVariant() : QVariant(v); }

}  // namespace

ModelTableModel::ModelTableModel(QObject* parent) : QAbstractTableModel(parent) {}

const char* ModelTableModel::columnKey(int column) {
  return column >= 0 && column < ColumnCount ? kColumns[column].key : "id";
}

void ModelTableModel::setCatalogue(Catalogue* catalogue) {
  catalogue_ = catalogue;
  resetRows();
}

void ModelTableModel::setFilter(const ModelFilter& filter) {
  ModelFilter f = filter;
  f.orderBy = filter_.orderBy;
  f.descending = filter_.descending;
  f.limit = -1;
  f.offset = 0;
  filter_ = std::move(f);
  resetRows();
}

void ModelTableModel::refresh() { resetRows(); }

void ModelTableModel::sort(int column, Qt::SortOrder order) {
  filter_.orderBy = columnKey(column);
  filter_.descending = order == Qt::DescendingOrder;
  resetRows();
}

void ModelTableModel::resetRows() {
  beginResetModel();
  pages_.clear();
  recent_.clear();
  pagesFetched_ = 0;
  count_ = 0;
  if (catalogue_) {
    try {
      count_ = catalogue_->countModels(filter_);
    } catch (const std::exception& e) {
      emit loadFailed(QString::fromStdString(e.what()));
    }
  }
  endResetModel();
}

const std::vector<ModelRecord>* ModelTableModel::page(int index) const {
  if (auto it = pages_.find(index); it != pages_.end()) {
    recent_.remove(index);
    recent_.push_front(index);
    return &it->second;
  }
  if (!catalogue_) return nullptr;
  ModelFilter f = filter_;
  f.limit = kPageSize;
  f.offset = int64_t(index) * kPageSize;
  std::vector<ModelRecord> rows;
  try {
    rows = catalogue_->listModels(f);
  } catch (const std::exception& e) {
    emit loadFailed(QString::fromStdString(e.what()));
    return nullptr;
  }
  ++pagesFetched_;
  if (recent_.size() >= kCachedPages) {
    pages_.erase(recent_.back());
    recent_.pop_back();
  }
  recent_.push_front(index);
  return &(pages_[index] = std::move(rows));
}

const ModelRecord* ModelTableModel::record(int row) const {
  if (row < 0 || row >= count_) return nullptr;
  const auto* rows = page(row / kPageSize);
  const size_t offset = size_t(row % kPageSize);
  // Another program may have removed rows since the count: the page comes back short.
  return rows && offset < rows->size() ? &(*rows)[offset] : nullptr;
}

int64_t ModelTableModel::modelId(int row) const {
  const ModelRecord* m = record(row);
  return m ? m->id : 0;
}

int ModelTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(std::min<int64_t>(count_, std::numeric_limits<int>::max()));
}

int ModelTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant ModelTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  if (role == Qt::TextAlignmentRole) {
    const bool text = index.column() == Architecture || index.column() == Family || index.column() == Dataset ||
                      index.column() == Source;
    return int((text ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
  }
  if (role != Qt::DisplayRole && role != RawRole && role != IdRole && role != Qt::ToolTipRole) return {};
  const ModelRecord* m = record(index.row());
  if (!m) return {};
  if (role == IdRole) return qlonglong(m->id);
  QVariant raw;
  switch (index.column()) {
    case Id: raw = qlonglong(m->id); break;
    case Architecture: raw = QString::fromStdString(m->architecture); break;
    case Family: raw = QString::fromStdString(m->family); break;
    case Dataset: raw = QString::fromStdString(m->dataset); break;
    case Seed: raw = orUnknown(m->seed); break;
    case Epoch: raw = orUnknown(m->epoch); break;
    case Top1: raw = orUnknown(m->top1); break;
    case Top5: raw = orUnknown(m->top5); break;
    case Params: raw = qlonglong(m->numParams); break;
    case Source: raw = QString::fromStdString(m->source); break;
    default: return {};
  }
  if (role == RawRole) return raw;
  if (role == Qt::ToolTipRole)
    return index.column() == Architecture ? QString("%1 (%2)").arg(raw.toString(), QString::fromStdString(m->family))
                                          : QVariant();
  if (!raw.isValid()) return QStringLiteral("\u2013");
  if (index.column() == Top1 || index.column() == Top5) return percentText(raw.toDouble());
  if (index.column() == Params) return QLocale().toString(raw.toLongLong());
  return raw;
}

QVariant ModelTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
  if (role == Qt::DisplayRole) return tr(kColumns[section].title);
  if (role == Qt::ToolTipRole) return tr(kColumns[section].tip);
  return {};
}

}  // namespace igpg::ui
