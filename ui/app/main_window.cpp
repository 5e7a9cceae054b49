#include "app/main_window.h"

#include "analyze/analyze_page.h"
#include "app/icons.h"
#include "app/log_panel.h"
#include "app/messages.h"
#include "app/studio_context.h"
#include "common/runtime.h"
#include "generate/generate_page.h"
#include "jobs/job_progress.h"
#include "jobs/job_runner.h"
#include "train/train_page.h"
#include "zoo/zoo_page.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QThread>
#include <QTimer>
#include <QToolBar>

namespace igpg::ui {

namespace {

const char* const kCatalogueKey = "catalogue/path";
const char* const kDeviceKey = "runtime/device";
const char* const kThreadsKey = "runtime/threads";
const char* const kGeometryKey = "window/geometry";
const char* const kStateKey = "window/state";
const char* const kPageKey = "window/page";
const char* const kSplitterPrefix = "splitters/";

}  // namespace

MainWindow::MainWindow(const QString& cataloguePath, QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("studioMainWindow"));
  setWindowTitle(tr("IGPG Studio"));
  setWindowIcon(studioIcon(StudioIcon::Application));
  context_ = new StudioContext(this);

  QSettings settings;
  context_->setDeviceName(settings.value(kDeviceKey, QStringLiteral("cpu")).toString());
  context_->setThreads(settings.value(kThreadsKey, 0).toInt());
  QString path = cataloguePath;
  if (path.isEmpty() && qEnvironmentVariableIsEmpty("IGPG_CATALOGUE"))
    path = settings.value(kCatalogueKey).toString();
  if (path.isEmpty()) path = StudioContext::defaultCataloguePath();
  try {
    context_->openCatalogue(path);
  } catch (...) {
    // The window still opens, so the user can pick another catalogue.
    QTimer::singleShot(0, this, [this, outcome = outcomeOfCurrentException()] {
      showJobFailure(this, tr("Cannot open the catalogue"), outcome);
    });
  }

  pages_ = new QTabWidget(this);
  pages_->setObjectName(QStringLiteral("pages"));
  pages_->setDocumentMode(true);
  pages_->setIconSize(QSize(20, 20));
  zoo_ = new ZooPage(*context_, pages_);
  train_ = new TrainPage(*context_, pages_);
  generate_ = new GeneratePage(*context_, pages_);
  analyze_ = new AnalyzePage(*context_, pages_);
  pages_->addTab(zoo_, studioIcon(StudioIcon::Zoo), tr("Zoo"));
  pages_->addTab(train_, studioIcon(StudioIcon::Train), tr("Train"));
  pages_->addTab(generate_, studioIcon(StudioIcon::Generate), tr("Generate"));
  pages_->addTab(analyze_, studioIcon(StudioIcon::Analyze), tr("Analyze"));
  setCentralWidget(pages_);

  createActions();
  createToolBar();
  createDocks();
  createStatusBar();
  watchJobs();
  readSettings();
  connect(context_, &StudioContext::catalogueOpened, this, &MainWindow::updateStatus);
  connect(context_, &StudioContext::runtimeChanged, this, &MainWindow::updateStatus);
  updateStatus();
}

MainWindow::~MainWindow() {
  // Cancel and join every job before the pages (and what the jobs report to) go away.
  for (JobRunner* runner : jobRunners()) runner->cancelAndWait();
}

void MainWindow::showPage(Page page) { pages_->setCurrentIndex(int(page)); }

QList<JobRunner*> MainWindow::jobRunners() const { return findChildren<JobRunner*>(); }

bool MainWindow::jobsRunning() const {
  for (const JobRunner* runner : jobRunners())
    if (runner->isRunning()) return true;
  return false;
}

bool MainWindow::openCatalogue(const QString& path) {
  try {
    context_->openCatalogue(path);
  } catch (...) {
    showCurrentException(this, tr("Cannot open the catalogue"));
    return false;
  }
  log_->appendLine(tr("opened catalogue %1%2").arg(path, context_->readOnly() ? tr(" (read-only)") : QString()));
  return true;
}

void MainWindow::createActions() {
  openAction_ = new QAction(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("&Open Catalogue\u2026"), this);
  openAction_->setShortcut(QKeySequence::Open);
  openAction_->setToolTip(tr("Open another catalogue (a catalogue.db file)"));
  newAction_ = new QAction(style()->standardIcon(QStyle::SP_FileDialogNewFolder), tr("&New Catalogue\u2026"), this);
  newAction_->setShortcut(QKeySequence::New);
  refreshAction_ = new QAction(style()->standardIcon(QStyle::SP_BrowserReload), tr("&Refresh"), this);
  refreshAction_->setShortcut(QKeySequence::Refresh);
  refreshAction_->setToolTip(tr("Read the catalogue again (other programs, such as igpg, may have changed it)"));
  cancelAllAction_ = new QAction(style()->standardIcon(QStyle::SP_BrowserStop), tr("&Cancel All Jobs"), this);
  cancelAllAction_->setEnabled(false);
  quitAction_ = new QAction(tr("&Quit"), this);
  quitAction_->setShortcut(QKeySequence::Quit);
  connect(openAction_, &QAction::triggered, this, [this] { chooseCatalogue(false); });
  connect(newAction_, &QAction::triggered, this, [this] { chooseCatalogue(true); });
  connect(refreshAction_, &QAction::triggered, context_, &StudioContext::notifyCatalogueChanged);
  connect(cancelAllAction_, &QAction::triggered, this, [this] {
    for (JobRunner* runner : jobRunners()) runner->cancel();
  });
  connect(quitAction_, &QAction::triggered, this, &QWidget::close);

  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(newAction_);
  file->addAction(openAction_);
  file->addSeparator();
  file->addAction(zoo_->importAction());
  file->addAction(zoo_->exportAction());
  file->addSeparator();
  file->addAction(quitAction_);
  QMenu* zoo = menuBar()->addMenu(tr("&Zoo"));
  zoo->addAction(zoo_->importAction());
  zoo->addAction(zoo_->exportAction());
  zoo->addAction(zoo_->deleteAction());
  zoo->addSeparator();
  zoo->addAction(zoo_->buildZooAction());
  zoo->addSeparator();
  zoo->addAction(refreshAction_);
  QMenu* view = viewMenu_ = menuBar()->addMenu(tr("&View"));
  for (int i = 0; i < pages_->count(); ++i) {
    auto* go = view->addAction(pages_->tabIcon(i), pages_->tabText(i));
    go->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
    connect(go, &QAction::triggered, this, [this, i] { pages_->setCurrentIndex(i); });
  }
  view->addSeparator();
  menuBar()->addMenu(tr("&Jobs"))->addAction(cancelAllAction_);
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About IGPG Studio"), this, &MainWindow::about);
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::createToolBar() {
  QToolBar* bar = addToolBar(tr("Main"));
  bar->setObjectName(QStringLiteral("mainToolBar"));
  bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  bar->setIconSize(QSize(18, 18));
  bar->addAction(openAction_);
  bar->addAction(refreshAction_);
  bar->addSeparator();
  bar->addAction(zoo_->importAction());
  bar->addAction(zoo_->exportAction());
  bar->addAction(zoo_->deleteAction());
  bar->addAction(zoo_->buildZooAction());
  bar->addSeparator();

  auto* spacer = new QWidget(bar);
  spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
  bar->addWidget(spacer);
  bar->addWidget(new QLabel(tr("Device "), bar));
  device_ = new QComboBox(bar);
  device_->setObjectName(QStringLiteral("deviceChoice"));
  device_->addItem(tr("CPU"), QStringLiteral("cpu"));
  device_->addItem(tr("CUDA"), QStringLiteral("cuda"));
  if (!cudaAvailable()) {
    auto* model = qobject_cast<QStandardItemModel*>(device_->model());
    model->item(1)->setEnabled(false);
    model->item(1)->setToolTip(tr("This LibTorch has no CUDA, or no GPU is visible"));
  }
  device_->setCurrentIndex(device_->findData(context_->deviceName()));
  device_->setToolTip(tr("Where training and generation run"));
  bar->addWidget(device_);
  bar->addWidget(new QLabel(tr("  Threads "), bar));
  threads_ = new QSpinBox(bar);
  threads_->setObjectName(QStringLiteral("threadChoice"));
  threads_->setRange(0, std::max(1, QThread::idealThreadCount()));
  threads_->setSpecialValueText(tr("auto"));
  threads_->setValue(context_->threads());
  threads_->setToolTip(tr("LibTorch's CPU threads; auto uses one per core"));
  bar->addWidget(threads_);
  connect(device_, &QComboBox::currentIndexChanged, this,
          [this] { context_->setDeviceName(device_->currentData().toString()); });
  connect(threads_, &QSpinBox::valueChanged, context_, &StudioContext::setThreads);
}

void MainWindow::createDocks() {
  logDock_ = new QDockWidget(tr("Jobs"), this);
  logDock_->setObjectName(QStringLiteral("jobsDock"));
  log_ = new LogPanel(logDock_);
  log_->setObjectName(QStringLiteral("jobsLog"));
  logDock_->setWidget(log_);
  addDockWidget(Qt::BottomDockWidgetArea, logDock_);
  resizeDocks({logDock_}, {90}, Qt::Vertical);
  viewMenu_->addAction(logDock_->toggleViewAction());
}

void MainWindow::createStatusBar() {
  statusProgress_ = new JobProgress(statusBar());
  statusProgress_->setObjectName(QStringLiteral("statusProgress"));
  statusProgress_->setMaximumWidth(560);
  catalogueLabel_ = new QLabel(statusBar());
  catalogueLabel_->setObjectName(QStringLiteral("catalogueLabel"));
  deviceLabel_ = new QLabel(statusBar());
  deviceLabel_->setObjectName(QStringLiteral("deviceLabel"));
  statusBar()->addWidget(statusProgress_, 1);
  statusBar()->addPermanentWidget(catalogueLabel_);
  statusBar()->addPermanentWidget(deviceLabel_);
}

void MainWindow::watchJobs() {
  for (JobRunner* runner : jobRunners()) {
    statusProgress_->watch(runner);
    connect(runner, &JobRunner::started, this, [this](const QString& name) {
      log_->appendLine(tr("[%1] started").arg(name));
      cancelAllAction_->setEnabled(true);
    });
    connect(runner, &JobRunner::progress, this,
            [this, runner](const ProgressEvent& e) { log_->appendEvent(runner->jobName(), e); });
    connect(runner, &JobRunner::finished, this, [this, runner](const JobOutcome& o) {
      const QString name = runner->jobName();
      switch (o.status) {
        case JobOutcome::Finished: log_->appendLine(tr("[%1] finished").arg(name)); break;
        case JobOutcome::Cancelled: log_->appendLine(tr("[%1] cancelled").arg(name)); break;
        case JobOutcome::Failed: log_->appendLine(tr("[%1] failed: %2").arg(name, o.message)); break;
      }
      cancelAllAction_->setEnabled(jobsRunning());
      // The last job of a close that was waiting for it: close now.
      if (closing_ && !jobsRunning()) QTimer::singleShot(0, this, &QWidget::close);
    });
  }
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (!jobsRunning()) {
    writeSettings();
    event->accept();
    return;
  }
  event->ignore();
  if (closing_) return;
  const auto answer =
      QMessageBox::question(this, tr("Jobs are running"),
                            tr("Cancel the running jobs and quit? A cancelled training keeps its last checkpoint; "
                               "an import or a zoo build leaves the catalogue as it was."),
                            QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
  if (answer != QMessageBox::Yes) return;
  closing_ = true;
  for (JobRunner* runner : jobRunners()) runner->cancel();
  statusBar()->showMessage(tr("Cancelling the running jobs; the window closes when they have stopped\u2026"));
}

void MainWindow::readSettings() {
  QSettings settings;
  if (!restoreGeometry(settings.value(kGeometryKey).toByteArray())) resize(1360, 860);
  restoreState(settings.value(kStateKey).toByteArray());
  pages_->setCurrentIndex(settings.value(kPageKey, 0).toInt());
  for (QSplitter* splitter : findChildren<QSplitter*>())
    if (!splitter->objectName().isEmpty())
      splitter->restoreState(settings.value(kSplitterPrefix + splitter->objectName()).toByteArray());
}

void MainWindow::writeSettings() const {
  QSettings settings;
  if (context_->hasCatalogue()) settings.setValue(kCatalogueKey, context_->cataloguePath());
  settings.setValue(kDeviceKey, context_->deviceName());
  settings.setValue(kThreadsKey, context_->threads());
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState());
  settings.setValue(kPageKey, pages_->currentIndex());
  for (const QSplitter* splitter : findChildren<QSplitter*>())
    if (!splitter->objectName().isEmpty())
      settings.setValue(kSplitterPrefix + splitter->objectName(), splitter->saveState());
}

void MainWindow::chooseCatalogue(bool create) {
  const QString start = QFileInfo(context_->cataloguePath()).absolutePath();
  const QString filter = tr("IGPG catalogue (*.db);;All files (*)");
  const QString path = create ? QFileDialog::getSaveFileName(this, tr("New catalogue"), start + "/catalogue.db", filter)
                              : QFileDialog::getOpenFileName(this, tr("Open catalogue"), start, filter);
  if (!path.isEmpty()) openCatalogue(path);
}

void MainWindow::updateStatus() {
  const QString path = context_->hasCatalogue() ? context_->cataloguePath() : tr("no catalogue");
  catalogueLabel_->setText(tr("Catalogue: %1%2").arg(path, context_->readOnly() ? tr(" (read-only)") : QString()));
  catalogueLabel_->setToolTip(context_->hasCatalogue() ? QString::fromStdString(context_->catalogue().blobDirectory())
                                                       : QString());
  deviceLabel_->setText(tr("Device: %1 \u00b7 %2 threads")
                            .arg(context_->deviceName().toUpper())
                            .arg(context_->threads() ? QString::number(context_->threads()) : tr("auto")));
  setWindowTitle(context_->hasCatalogue()
                     ? tr("%1 \u2014 IGPG Studio").arg(QFileInfo(context_->cataloguePath()).fileName())
                     : tr("IGPG Studio"));
  setWindowFilePath(context_->cataloguePath());
}

void MainWindow::about() {
  QMessageBox::about(
      this, tr("About IGPG Studio"),
      tr("<h3>IGPG Studio %1</h3><p>Instruction-guided autoregressive neural network parameter generation: a "
         "Gumbel VQ-VAE tokenizes a zoo of trained networks, a GPT prior conditioned on the architecture and "
         "the dataset learns the tokens, and sampling it gives working weights.</p>"
         "<p>LibTorch %2 \u00b7 BLAS %4 \u00b7 Qt %3</p>")
          .arg(QString::fromStdString(igpgVersion()), QString::fromStdString(torchVersion()),
               QString::fromLatin1(qVersion()), QString::fromStdString(blasBackend())));
}

}  // namespace igpg::ui
