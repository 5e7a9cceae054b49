// igpg-studio: the desktop model-zoo explorer.
#include <QApplication>
#include <QLabel>
#include <QMainWindow>

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("IGPG Studio");
  QApplication::setOrganizationName("IGPG");
  QMainWindow window;
  window.setWindowTitle("IGPG Studio");
  window.setCentralWidget(new QLabel("IGPG Studio"));
  window.resize(1200, 800);
  window.show();
  return app.exec();
}
