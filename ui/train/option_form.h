// A form bound to the fields of a plain options struct (TokenizerTrainOptions,
// PriorTrainOptions, SamplingOptions): each row edits one field in place, so the struct
// is always what the form shows and the core's defaults are what a fresh struct holds.
// No number is typed here twice: the defaults come from a default-constructed struct.
#pragma once

#include <QWidget>

#include <cstdint>
#include <functional>
#include <vector>

class QFormLayout;

namespace igpg::ui {

class OptionForm : public QWidget {
  Q_OBJECT
 public:
  explicit OptionForm(QWidget* parent = nullptr);

  void addSection(const QString& title);
  // The field must outlive the form. `name` is the row's object name (for tests and
  // settings); the row's tooltip says what the field does and its default. minimumText,
  // when given, names what the minimum means (e.g. "auto" for a 0 the core resolves).
  void addInt(const QString& name, const QString& label, int64_t* field, int64_t minimum, int64_t maximum,
              const QString& tip, const QString& minimumText = {});
  void addSeed(const QString& name, const QString& label, uint64_t* field, const QString& tip);
  void addNumber(const QString& name, const QString& label, double* field, double minimum, double maximum,
                 const QString& tip);
  // A choice among labelled values of an enum (or any int-convertible) field.
  template <typename E>
  void addChoice(const QString& name, const QString& label, E* field, const std::vector<std::pair<QString, E>>& items,
                 const QString& tip) {
    std::vector<std::pair<QString, int>> asInt;
    for (const auto& [text, value] : items) asInt.emplace_back(text, static_cast<int>(value));
    addChoiceRow(
        name, label, asInt, [field] { return static_cast<int>(*field); },
        [field](int v) { *field = static_cast<E>(v); }, tip);
  }

  // Puts the fields' current values into the widgets (after the struct was replaced).
  void reload();
  int rowCount() const { return int(rows_.size()); }

 signals:
  void edited();  // a widget changed a field

 private:
  struct Row {
    std::function<void()> load;  // field -> widget
  };
  void addChoiceRow(const QString& name, const QString& label, const std::vector<std::pair<QString, int>>& items,
                    std::function<int()> get, std::function<void(int)> set, const QString& tip);
  void addRow(const QString& label, QWidget* editor, const QString& tip, const QString& defaultText);

  QFormLayout* form_ = nullptr;
  std::vector<Row> rows_;
};

}  // namespace igpg::ui
