#include "plots/plot_render.h"

#include "common/error.h"
#include "plots/plot_scene.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QThread>

#include <exception>

namespace igpg::ui {

namespace {

void ensureApplication() {
  QCoreApplication* app = QCoreApplication::instance();
  if (app) {
    if (!qobject_cast<QApplication*>(app))
      fail(ErrorKind::Internal, "plot renderer", "needs a QApplication (plots are widgets), not a " +
                                                     std::string(app->metaObject()->className()));
    return;
  }
  // A command-line report has no application of its own. The offscreen platform needs no
  // display, so reports render over ssh and in CI alike. Deliberately never destroyed:
  // tearing a QApplication down during static destruction crashes in platform plugins.
  static int argc = 3;
  static char arg0[] = "igpg", arg1[] = "-platform", arg2[] = "offscreen";
  static char* argv[] = {arg0, arg1, arg2, nullptr};
  new QApplication(argc, argv);
}

}  // namespace

void renderPlotSpecToPng(const PlotSpec& spec, const QString& path, int width, int height) {
  QCoreApplication* app = QCoreApplication::instance();
  if (!qobject_cast<QApplication*>(app))
    fail(ErrorKind::Internal, path.toStdString(), "rendering a plot needs a QApplication");
  if (QThread::currentThread() != app->thread())
    fail(ErrorKind::Internal, path.toStdString(), "plots render on the GUI thread; use offscreenPlotRenderer()");
  QCustomPlot plot;  // never shown
  PlotScene scene(plot, spec);
  writePlotPng(plot, path, width, height);
}

PlotRenderer offscreenPlotRenderer() {
  return [](const PlotSpec& spec, const std::string& pngPath, int width, int height) {
    ensureApplication();
    const auto render = [&] { renderPlotSpecToPng(spec, QString::fromStdString(pngPath), width, height); };
    QCoreApplication* app = QCoreApplication::instance();
    if (QThread::currentThread() == app->thread()) {
      render();
      return;
    }
    // Widgets and pixmaps belong to the GUI thread.
    std::exception_ptr error;
    QMetaObject::invokeMethod(
        app,
        [&] {
          try {
            render();
          } catch (...) {
            error = std::current_exception();
          }
        },
        Qt::BlockingQueuedConnection);
    if (error) std::rethrow_exception(error);
  };
}

}  // namespace igpg::ui
