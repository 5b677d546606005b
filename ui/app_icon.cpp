#include "app_icon.h"

#include <QLinearGradient>
#include <QPainter>
#include <QPixmap>

namespace tmk::ui {

namespace {

// A rounded tile with a waveform above a bipolar slider (coordinates on a 256 grid, as in the SVG).
QPixmap paintIcon(int size)
{
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.scale(size / 256.0, size / 256.0);
    QLinearGradient background(0, 0, 256, 256);
    background.setColorAt(0, QColor("#2b2f3a"));
    background.setColorAt(1, QColor("#171a21"));
    painter.setPen(Qt::NoPen);
    painter.setBrush(background);
    painter.drawRoundedRect(QRectF(8, 8, 240, 240), 52, 52);
    const int bars[][3] = { { 56, 112, 144 }, { 80, 88, 168 }, { 104, 64, 192 }, { 128, 96, 160 }, { 152, 72, 184 },
        { 176, 100, 156 }, { 200, 116, 140 } };
    painter.setPen(QPen(QColor("#5fb3ff"), 12, Qt::SolidLine, Qt::RoundCap));
    for (const auto& bar : bars) painter.drawLine(bar[0], bar[1], bar[0], bar[2]);
    painter.setPen(QPen(QColor("#5c6373"), 8, Qt::SolidLine, Qt::RoundCap));
    painter.drawLine(48, 212, 208, 212);
    painter.setPen(QPen(QColor("#ff8a5c"), 8, Qt::SolidLine, Qt::RoundCap));
    painter.drawLine(128, 212, 172, 212);
    painter.setPen(QPen(QColor("#171a21"), 4));
    painter.setBrush(QColor("#ff8a5c"));
    painter.drawEllipse(QPointF(172, 212), 13, 13);
    return pixmap;
}

} // namespace

QIcon appIcon()
{
    QIcon icon;
    for (int size : { 16, 24, 32, 48, 64, 128, 256 }) icon.addPixmap(paintIcon(size));
    return icon;
}

} // namespace tmk::ui
