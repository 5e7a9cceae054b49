// igpg-studio: the desktop model-zoo explorer over the same core as the igpg command line.
#include "app/core_jobs.h"
#include "app/main_window.h"
#include "common/runtime.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv) {
  igpg::reexecWithPassiveOpenMP(argv);
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("IGPG Studio"));
  QApplication::setOrganizationName(QStringLiteral("IGPG"));
  QApplication::setApplicationVersion(QString::fromStdString(igpg::igpgVersion()));
  QApplication::setDesktopFileName(QStringLiteral("igpg-studio"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("IGPG Studio: browse model zoos, train the tokenizer and the prior, "
                                                  "generate and analyze network weights."));
  parser.addHelpOption();
  parser.addVersionOption();
  QCommandLineOption catalogue(
      QStringLiteral("catalogue"),
      QStringLiteral("Catalogue database (default: $IGPG_CATALOGUE, the last one opened, or "
                     "$XDG_DATA_HOME/igpg/catalogue.db)."),
      QStringLiteral("PATH"));
  parser.addOption(catalogue);
  parser.process(app);

  igpg::ui::MainWindow window(parser.value(catalogue));
  igpg::ui::installCoreJobs(window);
  window.show();
  return app.exec();
}
