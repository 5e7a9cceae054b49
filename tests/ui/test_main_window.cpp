// The main window: it opens the catalogue the command line would (IGPG_CATALOGUE, else the
// XDG default), remembers the catalogue, device, threads, page and layout across starts,
// offers the default zoo on an empty catalogue, and closing it during a job cancels the
// job and closes once its thread has ended.
#include "igpg_test.h"
#include "test_util.h"

#include "app/main_window.h"
#include "app/studio_context.h"
#include "common/files.h"
#include "jobs/job_runner.h"
#include "zoo/zoo_page.h"

#include <QApplication>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTabWidget>
#include <QTimer>
#include <QtTest/QtTest>

#include <chrono>
#include <thread>

using igpg::ui::MainWindow;

class MainWindowTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void cleanupTestCase();
  void init();
  void opensTheCommandLinesDefaultCatalogue();
  void statusBarShowsCatalogueAndDevice();
  void settingsPersist();
  void emptyCatalogueOffersTheDefaultZoo();
  void closingDuringAJobCancelsIt();

 private:
  igpg_test::ScratchDir* dir_ = nullptr;
};

void MainWindowTest::initTestCase() {
  dir_ = new igpg_test::ScratchDir("main_window");
  // Settings go to the scratch folder, never to the user's.
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, QString::fromStdString(dir_->file("settings")));
  QCoreApplication::setOrganizationName("IGPG-test");
  QCoreApplication::setApplicationName("studio-test");
}

void MainWindowTest::cleanupTestCase() { delete dir_; }

void MainWindowTest::init() {
  QSettings().clear();
  qunsetenv("IGPG_CATALOGUE");
}

void MainWindowTest::opensTheCommandLinesDefaultCatalogue() {
  const QString fromEnv = QString::fromStdString(dir_->file("env/catalogue.db"));
  qputenv("IGPG_CATALOGUE", fromEnv.toLocal8Bit());
  {
    MainWindow window;
    QCOMPARE(window.context().cataloguePath(), fromEnv);
    QVERIFY(window.context().hasCatalogue());
  }
  qunsetenv("IGPG_CATALOGUE");
  qputenv("XDG_DATA_HOME", QByteArray::fromStdString(dir_->file("xdg")));
  QCOMPARE(igpg::ui::StudioContext::defaultCataloguePath(),
           QString::fromStdString(dir_->file("xdg") + "/igpg/catalogue.db"));
  MainWindow window;
  QCOMPARE(window.context().cataloguePath(), QString::fromStdString(igpg::defaultDataDirectory() + "/catalogue.db"));
  qunsetenv("XDG_DATA_HOME");
}

void MainWindowTest::statusBarShowsCatalogueAndDevice() {
  const QString path = QString::fromStdString(dir_->file("status/catalogue.db"));
  MainWindow window(path);
  QVERIFY(window.findChild<QLabel*>("catalogueLabel")->text().contains(path));
  QVERIFY(window.findChild<QLabel*>("deviceLabel")->text().contains("CPU"));
  QVERIFY(window.windowTitle().contains("catalogue.db"));
  QCOMPARE(window.pages()->count(), 4);
  QCOMPARE(window.pages()->tabText(MainWindow::Analyze), QString("Analyze"));
}

void MainWindowTest::settingsPersist() {
  const QString path = QString::fromStdString(dir_->file("persist/catalogue.db"));
  {
    MainWindow window(path);
    window.resize(1111, 822);
    window.show();
    window.findChild<QSpinBox*>("threadChoice")->setValue(1);
    window.showPage(MainWindow::Generate);
    QCOMPARE(window.context().threads(), 1);
    QVERIFY(window.close());
  }
  MainWindow window;  // no path: the last catalogue
  QCOMPARE(window.context().cataloguePath(), path);
  QCOMPARE(window.context().threads(), 1);
  QCOMPARE(window.findChild<QSpinBox*>("threadChoice")->value(), 1);
  QCOMPARE(window.pages()->currentIndex(), int(MainWindow::Generate));
  QCOMPARE(window.size(), QSize(1111, 822));
  QCOMPARE(window.context().deviceName(), QString("cpu"));
  // The environment still wins over the remembered catalogue, as for the CLI.
  const QString fromEnv = QString::fromStdString(dir_->file("env2/catalogue.db"));
  qputenv("IGPG_CATALOGUE", fromEnv.toLocal8Bit());
  MainWindow withEnv;
  QCOMPARE(withEnv.context().cataloguePath(), fromEnv);
}

void MainWindowTest::emptyCatalogueOffersTheDefaultZoo() {
  MainWindow window(QString::fromStdString(dir_->file("empty/catalogue.db")));
  window.show();
  QVERIFY(window.zooPage()->findChild<QWidget*>("emptyBanner")->isVisible());
  QVERIFY(window.zooPage()->findChild<QPushButton*>("buildDefaultZoo"));
}

void MainWindowTest::closingDuringAJobCancelsIt() {
  MainWindow window(QString::fromStdString(dir_->file("close/catalogue.db")));
  window.show();
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  igpg::ui::JobRunner* jobs = window.zooPage()->jobs();
  QVERIFY(jobs->start("endless", [stopped](const igpg::JobControl& job) {
    while (!job.cancel.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a job takes a moment to stop
    *stopped = true;
    job.cancel.throwIfCancelled("endless");
  }));
  QVERIFY(window.jobsRunning());
  // Answer the question the close asks: yes, cancel the jobs and quit.
  QTimer::singleShot(100, [] {
    for (QWidget* w : QApplication::topLevelWidgets())
      if (auto* box = qobject_cast<QMessageBox*>(w); box && box->isVisible()) box->button(QMessageBox::Yes)->click();
  });
  window.close();
  QVERIFY(window.isVisible());  // still waiting for the job to stop
  QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), 5000);
  QVERIFY(stopped->load());
  QVERIFY(!window.jobsRunning());
}

QTEST_MAIN(MainWindowTest)
#include "test_main_window.moc"
