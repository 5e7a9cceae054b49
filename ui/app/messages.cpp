#include "app/messages.h"

#include <QMessageBox>

namespace igpg::ui {

namespace {

void openBox(QWidget* parent, QMessageBox::Icon icon, const QString& title, const QString& text,
             const QString& details) {
  auto* box = new QMessageBox(icon, title, text, QMessageBox::Ok, parent);
  box->setObjectName(QStringLiteral("studioMessage"));
  box->setInformativeText(details);
  box->setTextInteractionFlags(Qt::TextSelectableByMouse);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setWindowModality(parent ? Qt::WindowModal : Qt::ApplicationModal);
  box->open();
}

}  // namespace

void showJobFailure(QWidget* parent, const QString& title, const JobOutcome& outcome) {
  openBox(parent, QMessageBox::Warning, title, outcome.message, outcome.hint);
}

void showCurrentException(QWidget* parent, const QString& title) {
  showJobFailure(parent, title, outcomeOfCurrentException());
}

void showInformation(QWidget* parent, const QString& title, const QString& text) {
  openBox(parent, QMessageBox::Information, title, text, {});
}

}  // namespace igpg::ui
