// The application icon, painted in code (this Qt build has no SVG support; resources/icons/tastemaker.svg is
// the same design for the desktop file).
#pragma once

#include <QIcon>

namespace tmk::ui {

QIcon appIcon();

} // namespace tmk::ui
