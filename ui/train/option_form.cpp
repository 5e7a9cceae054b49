#include "train/option_form.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDoubleValidator>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>

#include <cmath>
#include <limits>

namespace igpg::ui {

namespace {

// Learning rates and temperatures span orders of magnitude: written as 0.002 or 1e-05,
// never rounded to a fixed number of decimals.
class NumberSpinBox : public QDoubleSpinBox {
 public:
  explicit NumberSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
    setDecimals(15);
    setKeyboardTracking(false);
  }
  QString textFromValue(double value) const override { return QString::number(value, 'g', 6); }
  double valueFromText(const QString& text) const override { return text.toDouble(); }
  QValidator::State validate(QString& text, int&) const override {
    if (text.isEmpty() || text == QLatin1String("-") || text.endsWith(QLatin1Char('e'), Qt::CaseInsensitive) ||
        text.endsWith(QLatin1String("e-"), Qt::CaseInsensitive))
      return QValidator::Intermediate;
    bool ok = false;
    const double v = text.toDouble(&ok);
    if (!ok) return QValidator::Invalid;
    return v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
  }
  void stepBy(int steps) override {
    // One step multiplies or divides by 10^(1/4): sensible for rates whatever their scale.
    const double v = value() == 0 ? singleStep() : value() * std::pow(10.0, 0.25 * steps);
    setValue(v);
  }
};

}  // namespace

OptionForm::OptionForm(QWidget* parent) : QWidget(parent) {
  form_ = new QFormLayout(this);
  form_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  form_->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
}

void OptionForm::addSection(const QString& title) {
  auto* label = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), this);
  label->setContentsMargins(0, form_->rowCount() ? 8 : 0, 0, 0);
  form_->addRow(label);
}

void OptionForm::addRow(const QString& label, QWidget* editor, const QString& tip, const QString& defaultText) {
  editor->setToolTip(tip + QStringLiteral("\n") + tr("Default: %1").arg(defaultText));
  form_->addRow(label, editor);
}

void OptionForm::addInt(const QString& name, const QString& label, int64_t* field, int64_t minimum, int64_t maximum,
                        const QString& tip, const QString& minimumText) {
  auto* spin = new QSpinBox(this);
  spin->setObjectName(name);
  spin->setSpecialValueText(minimumText);
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  spin->setRange(int(std::max<int64_t>(minimum, -kMax)), int(std::min<int64_t>(maximum, kMax)));
  spin->setKeyboardTracking(false);
  spin->setGroupSeparatorShown(true);
  rows_.push_back({[spin, field] { spin->setValue(int(*field)); }});
  rows_.back().load();
  connect(spin, &QSpinBox::valueChanged, this, [this, field](int v) {
    *field = v;
    emit edited();
  });
  addRow(label, spin, tip, *field == minimum && !minimumText.isEmpty() ? minimumText : QString::number(*field));
}

void OptionForm::addSeed(const QString& name, const QString& label, uint64_t* field, const QString& tip) {
  auto* spin = new QSpinBox(this);
  spin->setObjectName(name);
  spin->setRange(0, std::numeric_limits<int>::max());
  spin->setKeyboardTracking(false);
  rows_.push_back({[spin, field] { spin->setValue(int(std::min<uint64_t>(*field, INT32_MAX))); }});
  rows_.back().load();
  connect(spin, &QSpinBox::valueChanged, this, [this, field](int v) {
    *field = uint64_t(v);
    emit edited();
  });
  addRow(label, spin, tip, QString::number(*field));
}

void OptionForm::addNumber(const QString& name, const QString& label, double* field, double minimum, double maximum,
                           const QString& tip) {
  auto* spin = new NumberSpinBox(this);
  spin->setObjectName(name);
  spin->setRange(minimum, maximum);
  spin->setSingleStep(minimum > 0 ? minimum : 0.1);
  rows_.push_back({[spin, field] { spin->setValue(*field); }});
  rows_.back().load();
  connect(spin, &QDoubleSpinBox::valueChanged, this, [this, field](double v) {
    *field = v;
    emit edited();
  });
  addRow(label, spin, tip, QString::number(*field, 'g', 6));
}

void OptionForm::addChoiceRow(const QString& name, const QString& label,
                              const std::vector<std::pair<QString, int>>& items, std::function<int()> get,
                              std::function<void(int)> set, const QString& tip) {
  auto* combo = new QComboBox(this);
  combo->setObjectName(name);
  QString defaultText;
  for (const auto& [text, value] : items) {
    combo->addItem(text, value);
    if (value == get()) defaultText = text;
  }
  rows_.push_back({[combo, get] { combo->setCurrentIndex(combo->findData(get())); }});
  rows_.back().load();
  connect(combo, &QComboBox::currentIndexChanged, this, [this, combo, set](int) {
    set(combo->currentData().toInt());
    emit edited();
  });
  addRow(label, combo, tip, defaultText);
}

void OptionForm::reload() {
  for (const Row& r : rows_) {
    r.load();
  }
}

}  // namespace igpg::ui
