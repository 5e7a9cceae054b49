#include "zoo/import_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDirIterator>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QStyle>
#include <QVBoxLayout>

#include <limits>

namespace igpg::ui {

namespace {

const QStringList kWeightPatterns = {QStringLiteral("*.safetensors"), QStringLiteral("*.pt"), QStringLiteral("*.pth")};

QComboBox* editableCombo(const QStringList& items, QWidget* parent) {
  auto* combo = new QComboBox(parent);
  combo->setEditable(true);
  combo->setInsertPolicy(QComboBox::NoInsert);
  combo->addItems(items);
  combo->setCurrentIndex(-1);
  combo->setMinimumContentsLength(24);
  return combo;
}

// -1 (the core's "unknown") is shown as "unknown".
QSpinBox* optionalCount(QWidget* parent) {
  auto* spin = new QSpinBox(parent);
  spin->setRange(-1, std::numeric_limits<int>::max());
  spin->setSpecialValueText(QObject::tr("unknown"));
  spin->setValue(-1);
  return spin;
}

}  // namespace

ImportDialog::ImportDialog(const QStringList& architectures, const QStringList& datasets, QWidget* parent)
    : QDialog(parent) {
  setWindowTitle(tr("Import weights"));
  auto* layout = new QVBoxLayout(this);

  layout->addWidget(new QLabel(tr("Weight files (safetensors, PyTorch .pt/.pth, TorchScript). All are imported "
                                  "or none: a bad file stops the import before anything is added."),
                               this));
  auto* fileRow = new QHBoxLayout;
  files_ = new QListWidget(this);
  files_->setObjectName(QStringLiteral("importFiles"));
  files_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  files_->setMinimumHeight(140);
  fileRow->addWidget(files_, 1);
  auto* fileButtons = new QVBoxLayout;
  auto* addFiles = new QPushButton(style()->standardIcon(QStyle::SP_FileIcon), tr("Add files\u2026"), this);
  auto* addFolder = new QPushButton(style()->standardIcon(QStyle::SP_DirIcon), tr("Add folder\u2026"), this);
  auto* remove = new QPushButton(style()->standardIcon(QStyle::SP_TrashIcon), tr("Remove"), this);
  fileButtons->addWidget(addFiles);
  fileButtons->addWidget(addFolder);
  fileButtons->addWidget(remove);
  fileButtons->addStretch(1);
  fileRow->addLayout(fileButtons);
  layout->addLayout(fileRow);

  const ImportOptions defaults;
  auto* form = new QFormLayout;
  architecture_ = editableCombo(architectures, this);
  architecture_->setObjectName(QStringLiteral("importArchitecture"));
  architecture_->setToolTip(tr("The architecture the weights belong to: one of the catalogue's, or a new name"));
  dataset_ = editableCombo(datasets, this);
  dataset_->setObjectName(QStringLiteral("importDataset"));
  dataset_->setToolTip(tr("The dataset (or derived task, e.g. digits[classes=0,1]) they were trained on"));
  source_ = new QLineEdit(QString::fromStdString(defaults.source), this);
  seed_ = optionalCount(this);
  epoch_ = optionalCount(this);
  form->addRow(tr("&Architecture:"), architecture_);
  form->addRow(tr("&Dataset:"), dataset_);
  form->addRow(tr("&Source:"), source_);
  form->addRow(tr("S&eed:"), seed_);
  form->addRow(tr("E&poch:"), epoch_);
  layout->addLayout(form);

  buttons_ = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons_->button(QDialogButtonBox::Ok)->setText(tr("Import"));
  layout->addWidget(buttons_);

  connect(addFiles, &QPushButton::clicked, this, &ImportDialog::chooseFiles);
  connect(addFolder, &QPushButton::clicked, this, &ImportDialog::chooseFolder);
  connect(remove, &QPushButton::clicked, this, &ImportDialog::removeSelected);
  connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(architecture_, &QComboBox::currentTextChanged, this, &ImportDialog::updateOk);
  connect(dataset_, &QComboBox::currentTextChanged, this, &ImportDialog::updateOk);
  updateOk();
  resize(640, 480);
}

QStringList ImportDialog::weightFilesIn(const QString& folder) {
  QStringList found;
  QDirIterator it(folder, kWeightPatterns, QDir::Files | QDir::Readable, QDirIterator::Subdirectories);
  while (it.hasNext()) found << it.next();
  found.sort();
  return found;
}

void ImportDialog::setFiles(const QStringList& files) {
  files_->clear();
  addFiles(files);
}

void ImportDialog::addFiles(const QStringList& files) {
  const QStringList present = this->files();
  for (const QString& f : files) {
    const QString path = QFileInfo(f).absoluteFilePath();
    if (!present.contains(path)) files_->addItem(path);
  }
  updateOk();
}

QStringList ImportDialog::files() const {
  QStringList out;
  for (int i = 0; i < files_->count(); ++i) out << files_->item(i)->text();
  return out;
}

void ImportDialog::setArchitecture(const QString& name) { architecture_->setCurrentText(name); }
void ImportDialog::setDataset(const QString& name) { dataset_->setCurrentText(name); }

ImportOptions ImportDialog::options() const {
  ImportOptions o;
  o.architecture.name = architecture_->currentText().trimmed().toStdString();
  o.dataset.name = dataset_->currentText().trimmed().toStdString();
  if (!source_->text().trimmed().isEmpty()) o.source = source_->text().trimmed().toStdString();
  o.seed = seed_->value();
  o.epoch = epoch_->value();
  return o;
}

void ImportDialog::chooseFiles() {
  addFiles(QFileDialog::getOpenFileNames(
      this, tr("Weight files"), {},
      tr("Weight files (%1);;All files (*)").arg(kWeightPatterns.join(QLatin1Char(' ')))));
}

void ImportDialog::chooseFolder() {
  const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder of weight files"));
  if (!folder.isEmpty()) addFiles(weightFilesIn(folder));
}

void ImportDialog::removeSelected() {
  qDeleteAll(files_->selectedItems());
  updateOk();
}

void ImportDialog::updateOk() {
  buttons_->button(QDialogButtonBox::Ok)
      ->setEnabled(files_->count() > 0 && !architecture_->currentText().trimmed().isEmpty() &&
                   !dataset_->currentText().trimmed().isEmpty());
}

}  // namespace igpg::ui
