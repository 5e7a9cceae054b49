// Finding a page's widgets by object name in the UI tests: a missing one fails the test
// with its name instead of a null pointer dereference.
#pragma once

#include <QWidget>

#include <stdexcept>
#include <string>

namespace igpg_test {

template <typename T>
T* child(QWidget* parent, const char* name) {
  T* w = parent->findChild<T*>(name);
  if (!w) throw std::runtime_error(std::string("no widget ") + name);
  return w;
}

}  // namespace igpg_test
