// The application's look: Fusion with a dark or light palette (an accent colour in Highlight, used by the
// sliders and the waveform), and a small stylesheet for spacing. Qt 6.4 has no QStyleHints::colorScheme, so
// "the system prefers dark" is read from the platform palette's window lightness; the environment variable
// TASTEMAKER_THEME=dark|light forces either.
#pragma once

#include <QColor>
#include <QPalette>
#include <QString>

class QApplication;

namespace tmk::ui {

enum class ThemeMode { Light, Dark };

// TASTEMAKER_THEME when it is "dark" or "light", else the lightness of `systemPalette`'s window colour.
ThemeMode preferredThemeMode(const QPalette& systemPalette);
QPalette themePalette(ThemeMode mode);
QString themeStyleSheet(ThemeMode mode);
// Applies Fusion, the palette and the stylesheet; returns the mode used.
ThemeMode applyTheme(QApplication& app);

// Colours the custom widgets derive from a palette.
QColor accentColor(const QPalette& palette); // Highlight
QColor mutedTextColor(const QPalette& palette); // secondary text
QColor grooveColor(const QPalette& palette); // slider and waveform background tracks
bool isDark(const QPalette& palette);

} // namespace tmk::ui
