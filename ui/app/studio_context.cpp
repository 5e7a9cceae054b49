#include "app/studio_context.h"

#include "common/error.h"
#include "common/files.h"
#include "common/runtime.h"

namespace igpg::ui {

StudioContext::StudioContext(QObject* parent) : QObject(parent) {}
StudioContext::~StudioContext() = default;

QString StudioContext::defaultCataloguePath() {
  const QByteArray env = qgetenv("IGPG_CATALOGUE");
  if (!env.isEmpty()) return QString::fromLocal8Bit(env);
  return QString::fromStdString(defaultDataDirectory() + "/catalogue.db");
}

void StudioContext::openCatalogue(const QString& path) {
  std::unique_ptr<Catalogue> opened;
  bool readOnly = false;
  try {
    opened = Catalogue::open(path.toStdString());
  } catch (const Error& e) {
    // A catalogue on a read-only medium, or one the user may not write, can still be browsed.
    if (!fileExists(path.toStdString())) throw;
    try {
      opened = Catalogue::open(path.toStdString(), Catalogue::ReadOnly);
    } catch (const Error&) {
      throw e;  // the read-write error says more
    }
    readOnly = true;
  }
  catalogue_ = std::move(opened);
  readOnly_ = readOnly;
  path_ = path;
  emit catalogueOpened(path_);
  emit catalogueChanged();
}

Catalogue& StudioContext::catalogue() const {
  if (!catalogue_) fail(ErrorKind::Catalogue, "studio", "no catalogue is open");
  return *catalogue_;
}

torch::Device StudioContext::device() const { return resolveDevice(device_.toStdString()); }

void StudioContext::setDeviceName(const QString& name) {
  const QString chosen = name == QLatin1String("cuda") && cudaAvailable() ? name : QStringLiteral("cpu");
  if (chosen == device_) return;
  device_ = chosen;
  emit runtimeChanged();
}

void StudioContext::setThreads(int threads) {
  threads = std::max(0, threads);
  igpg::setThreads(threads);
  if (threads == threads_) return;
  threads_ = threads;
  emit runtimeChanged();
}

}  // namespace igpg::ui
