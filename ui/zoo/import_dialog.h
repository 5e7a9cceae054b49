// Choosing what to import: weight files (or every weight file under a folder), the
// architecture and the dataset they belong to, their source, seed and epoch. The dialog
// only gathers an ImportOptions; the import itself is core's importWeightFiles.
#pragma once

#include "catalogue/import.h"

#include <QDialog>
#include <QStringList>

class QComboBox;
class QDialogButtonBox;
class QLineEdit;
class QListWidget;
class QSpinBox;

namespace igpg::ui {

class ImportDialog : public QDialog {
  Q_OBJECT
 public:
  ImportDialog(const QStringList& architectures, const QStringList& datasets, QWidget* parent = nullptr);

  void setFiles(const QStringList& files);
  void addFiles(const QStringList& files);
  QStringList files() const;
  void setArchitecture(const QString& name);
  void setDataset(const QString& name);
  // The options for importWeightFiles (names, source, seed, epoch).
  ImportOptions options() const;

  // Files under `folder` (recursively) whose extension names a weight format the core
  // reads (.safetensors, .pt, .pth), sorted by path.
  static QStringList weightFilesIn(const QString& folder);

 private:
  void chooseFiles();
  void chooseFolder();
  void removeSelected();
  void updateOk();

  QListWidget* files_ = nullptr;
  QComboBox* architecture_ = nullptr;
  QComboBox* dataset_ = nullptr;
  QLineEdit* source_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QSpinBox* epoch_ = nullptr;
  QDialogButtonBox* buttons_ = nullptr;
};

}  // namespace igpg::ui
