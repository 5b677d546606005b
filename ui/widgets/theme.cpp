#include "widgets/theme.h"

#include <QApplication>
#include <QStyle>

namespace tmk::ui {

namespace {

// The accent: a warm violet that reads on both palettes.
const QColor kAccentDark(0x9b, 0x87, 0xf5);
const QColor kAccentLight(0x6a, 0x4c, 0xe0);

QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x1e, 0x1f, 0x24);
    const QColor base(0x17, 0x18, 0x1c);
    const QColor alternate(0x25, 0x26, 0x2d);
    const QColor text(0xe6, 0xe6, 0xeb);
    const QColor button(0x2b, 0x2d, 0x35);
    const QColor disabledText(0x70, 0x72, 0x7c);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, alternate);
    p.setColor(QPalette::ToolTipBase, QColor(0x2f, 0x31, 0x3a));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x8c, 0x96));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, button);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(0xff, 0x6b, 0x6b));
    p.setColor(QPalette::Light, QColor(0x3a, 0x3c, 0x46));
    p.setColor(QPalette::Midlight, QColor(0x33, 0x35, 0x3e));
    p.setColor(QPalette::Mid, QColor(0x26, 0x27, 0x2e));
    p.setColor(QPalette::Dark, QColor(0x12, 0x13, 0x16));
    p.setColor(QPalette::Shadow, QColor(0x08, 0x08, 0x0a));
    p.setColor(QPalette::Highlight, kAccentDark);
    p.setColor(QPalette::HighlightedText, QColor(0x12, 0x10, 0x1c));
    p.setColor(QPalette::Link, kAccentDark.lighter(115));
    p.setColor(QPalette::LinkVisited, kAccentDark);
    for (auto role : { QPalette::WindowText, QPalette::Text, QPalette::ButtonText }) {
        p.setColor(QPalette::Disabled, role, disabledText);
    }
    p.setColor(QPalette::Disabled, QPalette::Button, QColor(0x24, 0x25, 0x2b));
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(0x4a, 0x4b, 0x55));
    p.setColor(QPalette::Disabled, QPalette::HighlightedText, disabledText);
    return p;
}

QPalette lightPalette()
{
    QPalette p;
    const QColor window(0xf4, 0xf4, 0xf7);
    const QColor text(0x1c, 0x1c, 0x22);
    const QColor disabledText(0x9a, 0x9b, 0xa3);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, Qt::white);
    p.setColor(QPalette::AlternateBase, QColor(0xee, 0xee, 0xf3));
    p.setColor(QPalette::ToolTipBase, QColor(0xff, 0xff, 0xff));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x77, 0x78, 0x82));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, QColor(0xfb, 0xfb, 0xfd));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(0xd0, 0x30, 0x30));
    p.setColor(QPalette::Light, Qt::white);
    p.setColor(QPalette::Midlight, QColor(0xe8, 0xe8, 0xee));
    p.setColor(QPalette::Mid, QColor(0xc8, 0xc8, 0xd0));
    p.setColor(QPalette::Dark, QColor(0xa0, 0xa0, 0xaa));
    p.setColor(QPalette::Shadow, QColor(0x60, 0x60, 0x68));
    p.setColor(QPalette::Highlight, kAccentLight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, kAccentLight);
    p.setColor(QPalette::LinkVisited, kAccentLight.darker(120));
    for (auto role : { QPalette::WindowText, QPalette::Text, QPalette::ButtonText }) {
        p.setColor(QPalette::Disabled, role, disabledText);
    }
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(0xc4, 0xc4, 0xcc));
    p.setColor(QPalette::Disabled, QPalette::HighlightedText, disabledText);
    return p;
}

} // namespace

ThemeMode preferredThemeMode(const QPalette& systemPalette)
{
    const QString forced = qEnvironmentVariable("TASTEMAKER_THEME").trimmed().toLower();
    if (forced == QLatin1String("dark")) {
        return ThemeMode::Dark;
    }
    if (forced == QLatin1String("light")) {
        return ThemeMode::Light;
    }
    return isDark(systemPalette) ? ThemeMode::Dark : ThemeMode::Light;
}

QPalette themePalette(ThemeMode mode)
{
    return mode == ThemeMode::Dark ? darkPalette() : lightPalette();
}

QString themeStyleSheet(ThemeMode mode)
{
    // Sizes are in points / em-like logical pixels so that 2x scaling stays proportional.
    const QString border = mode == ThemeMode::Dark ? QStringLiteral("#34363f") : QStringLiteral("#d4d4dc");
    const QString control = mode == ThemeMode::Dark ? QStringLiteral("#6b6d79") : QStringLiteral("#9a9ba6");
    const QString header = mode == ThemeMode::Dark ? QStringLiteral("#a9abb5") : QStringLiteral("#5c5d66");
    return QStringLiteral(
        "QToolTip { padding: 4px 6px; border: 1px solid %1; }\n"
        "QGroupBox { border: 1px solid %1; border-radius: 8px; margin-top: 1.4em; padding: 0.6em; }\n"
        "QGroupBox::title { subcontrol-origin: margin; left: 0.8em; padding: 0 0.3em; color: %2; }\n"
        "QPushButton { background: palette(button); border: 1px solid %1; border-radius: 6px;"
        " padding: 0.3em 0.9em; min-height: 1.2em; }\n"
        "QPushButton:hover { border-color: palette(highlight); }\n"
        "QPushButton:focus { border-color: palette(highlight); }\n"
        "QPushButton:pressed { background: palette(mid); }\n"
        "QPushButton:default { background: palette(highlight); color: palette(highlighted-text);"
        " border-color: palette(highlight); }\n"
        "QPushButton:disabled { background: palette(window); }\n"
        "QPushButton::menu-indicator { subcontrol-origin: padding; subcontrol-position: center right; }\n"
        "QPushButton#loadPresetButton { padding-right: 1.6em; }\n"
        "QLineEdit, QPlainTextEdit, QTextEdit { background: palette(base); border: 1px solid %1;"
        " border-radius: 5px; padding: 0.2em 0.35em; }\n"
        "QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus { border-color: palette(highlight); }\n"
        "QListView { border: 1px solid %1; border-radius: 8px; padding: 2px; }\n"
        "QScrollArea { border: none; }\n"
        "QProgressBar { border: 1px solid %1; border-radius: 5px; text-align: center; }\n"
        "QProgressBar::chunk { border-radius: 4px; background: palette(highlight); }\n"
        "QCheckBox::indicator { width: 0.95em; height: 0.95em; border: 1px solid %3; border-radius: 4px;"
        " background: palette(base); }\n"
        "QCheckBox::indicator:hover { border-color: palette(highlight); }\n"
        "QCheckBox::indicator:checked { background: palette(highlight); border-color: palette(highlight); }\n"
        "QCheckBox::indicator:disabled { background: palette(window); }\n"
        "QLabel[role=\"code\"] { background: palette(base); border: 1px solid %1; border-radius: 5px;"
        " padding: 0.4em 0.6em; }\n"
        "QLabel[role=\"heading\"] { font-size: 15pt; font-weight: 600; }\n"
        "QLabel[role=\"muted\"] { color: %2; }\n")
        .arg(border, header, control);
}

ThemeMode applyTheme(QApplication& app)
{
    const ThemeMode mode = preferredThemeMode(app.palette());
    QApplication::setStyle(QStringLiteral("Fusion"));
    app.setPalette(themePalette(mode));
    app.setStyleSheet(themeStyleSheet(mode));
    return mode;
}

QColor accentColor(const QPalette& palette)
{
    return palette.color(QPalette::Highlight);
}

QColor mutedTextColor(const QPalette& palette)
{
    const QColor text = palette.color(QPalette::WindowText);
    const QColor window = palette.color(QPalette::Window);
    // Two thirds of the way from the window colour to the text colour.
    return QColor::fromRgbF(window.redF() + (text.redF() - window.redF()) * 0.62f,
        window.greenF() + (text.greenF() - window.greenF()) * 0.62f,
        window.blueF() + (text.blueF() - window.blueF()) * 0.62f);
}

QColor grooveColor(const QPalette& palette)
{
    const QColor window = palette.color(QPalette::Window);
    return isDark(palette) ? window.lighter(165) : window.darker(118);
}

bool isDark(const QPalette& palette)
{
    return palette.color(QPalette::Window).lightnessF() < 0.5;
}

} // namespace tmk::ui
