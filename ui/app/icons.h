// The studio's own icons, painted at any size (no image plugin needed): the page tabs'
// and the application's (which resources/igpg-studio.png and .svg reproduce for the
// desktop entry).
#pragma once

#include <QIcon>

namespace igpg::ui {

enum class StudioIcon { Application, Zoo, Train, Generate, Analyze };

QIcon studioIcon(StudioIcon which);

}  // namespace igpg::ui
