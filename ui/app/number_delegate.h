// Table cells holding a double show four significant digits; the model keeps the exact
// value for sorting, copying and tests. Other cells are drawn as usual.
#pragma once

#include <QStyledItemDelegate>

namespace igpg::ui {

class NumberDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  QString displayText(const QVariant& value, const QLocale& locale) const override;
};

}  // namespace igpg::ui
