// What every page of the studio shares, as the CLI's commands share cli::Context: the
// catalogue (its path, and the GUI thread's own connection to it), the device and the
// thread count. Workers get the path and open their own Catalogue, one per thread.
#pragma once

#include "catalogue/catalogue.h"

#include <torch/types.h>

#include <QObject>
#include <QString>

#include <memory>

namespace igpg::ui {

class StudioContext : public QObject {
  Q_OBJECT
 public:
  explicit StudioContext(QObject* parent = nullptr);
  ~StudioContext() override;

  // The CLI's resolution: $IGPG_CATALOGUE, else $XDG_DATA_HOME/igpg/catalogue.db.
  static QString defaultCataloguePath();

  // Opens (creating it if needed) the catalogue at `path` for this thread; a catalogue
  // that cannot be written is opened read-only. Throws igpg::Error when neither works,
  // keeping the catalogue that was open.
  void openCatalogue(const QString& path);
  bool hasCatalogue() const { return catalogue_ != nullptr; }
  bool readOnly() const { return readOnly_; }
  const QString& cataloguePath() const { return path_; }
  std::string cataloguePathStd() const { return path_.toStdString(); }
  // The GUI thread's connection; never hand it to another thread. Throws
  // Error(Catalogue) when none is open.
  Catalogue& catalogue() const;

  // "cpu" or "cuda"; CUDA only where LibTorch has it.
  const QString& deviceName() const { return device_; }
  torch::Device device() const;
  void setDeviceName(const QString& name);
  int threads() const { return threads_; }  // 0: one per core
  void setThreads(int threads);

  // Tells every page that the catalogue changed (a job wrote to it, the user asked
  // for a refresh, another program may have written to it).
  void notifyCatalogueChanged() { emit catalogueChanged(); }

 signals:
  void catalogueOpened(const QString& path);
  void catalogueChanged();
  void runtimeChanged();

 private:
  QString path_;
  std::unique_ptr<Catalogue> catalogue_;
  bool readOnly_ = false;
  QString device_ = QStringLiteral("cpu");
  int threads_ = 0;
};

}  // namespace igpg::ui
