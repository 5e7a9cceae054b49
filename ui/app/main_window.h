// The studio's main window: the Zoo, Train, Generate and Analyze pages as tabs, a tool
// bar (catalogue, zoo actions, device and threads), a Jobs dock with the log of every
// job, and a status bar with the catalogue, the device and the running job's progress.
// The catalogue path, device, thread count, window layout and splitters persist in
// QSettings. Closing the window while jobs run asks, cancels them, and closes once
// their threads have ended.
#pragma once

#include <QMainWindow>

class QAction;
class QComboBox;
class QDockWidget;
class QLabel;
class QMenu;
class QSpinBox;
class QTabWidget;

namespace igpg::ui {

class AnalyzePage;
class GeneratePage;
class JobProgress;
class JobRunner;
class LogPanel;
class StudioContext;
class TrainPage;
class ZooPage;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  enum Page { Zoo, Train, Generate, Analyze };

  // Opens `cataloguePath`, or when empty the saved one, or the CLI's default.
  explicit MainWindow(const QString& cataloguePath = {}, QWidget* parent = nullptr);
  ~MainWindow() override;

  StudioContext& context() const { return *context_; }
  ZooPage* zooPage() const { return zoo_; }
  TrainPage* trainPage() const { return train_; }
  GeneratePage* generatePage() const { return generate_; }
  AnalyzePage* analyzePage() const { return analyze_; }
  QTabWidget* pages() const { return pages_; }
  LogPanel* jobLog() const { return log_; }
  void showPage(Page page);

  // Opens a catalogue; on failure keeps the current one and shows why.
  bool openCatalogue(const QString& path);
  // Every job runner of the window's pages.
  QList<JobRunner*> jobRunners() const;
  bool jobsRunning() const;

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void createActions();
  void createToolBar();
  void createDocks();
  void createStatusBar();
  void watchJobs();
  void readSettings();
  void writeSettings() const;
  void chooseCatalogue(bool create);
  void updateStatus();
  void about();

  StudioContext* context_ = nullptr;
  QTabWidget* pages_ = nullptr;
  ZooPage* zoo_ = nullptr;
  TrainPage* train_ = nullptr;
  GeneratePage* generate_ = nullptr;
  AnalyzePage* analyze_ = nullptr;
  LogPanel* log_ = nullptr;
  QDockWidget* logDock_ = nullptr;
  QMenu* viewMenu_ = nullptr;
  JobProgress* statusProgress_ = nullptr;
  QLabel* catalogueLabel_ = nullptr;
  QLabel* deviceLabel_ = nullptr;
  QComboBox* device_ = nullptr;
  QSpinBox* threads_ = nullptr;
  QAction* openAction_ = nullptr;
  QAction* newAction_ = nullptr;
  QAction* refreshAction_ = nullptr;
  QAction* cancelAllAction_ = nullptr;
  QAction* quitAction_ = nullptr;
  bool closing_ = false;  // close asked while jobs ran: close once they have ended
};

}  // namespace igpg::ui
