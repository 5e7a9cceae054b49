#include "app/number_delegate.h"

#include "app/format.h"

namespace igpg::ui {

QString NumberDelegate::displayText(const QVariant& value, const QLocale& locale) const {
  if (value.typeId() == QMetaType::Double) return numberText(value.toDouble());
  return QStyledItemDelegate::displayText(value, locale);
}

}  // namespace igpg::ui
