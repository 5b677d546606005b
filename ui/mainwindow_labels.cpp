// MainWindow's status line and labels (see mainwindow.h): the status message with its undo button, and the
// model, bank and audio labels.
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QPushButton>
#include <QStackedWidget>
#include <QTimer>

#include "engine_bridge.h"
#include "mainwindow.h"
#include "widgets/measured_steering.h"

namespace tmk::ui {

namespace {

constexpr int kStatusMilliseconds = 10000; // how long a status message stays

} // namespace

// ---- Status ----

void MainWindow::showStatus(const QString& text, bool undoable)
{
    m_statusLabel->setText(text);
    m_undoButton->setVisible(undoable);
    m_statusTimer->start(kStatusMilliseconds);
}

QString MainWindow::statusText() const
{
    return m_statusLabel->text();
}

bool MainWindow::welcomeShown() const
{
    return m_pages->currentWidget() == m_welcome;
}

QString MainWindow::modelDescription() const
{
    return m_modelLabel->text();
}

void MainWindow::updateModelLabel()
{
    const ModelInfo* info = m_bridge.modelInfo();
    if (!info) {
        m_modelLabel->setText(tr("No model loaded"));
        return;
    }
    QString text = tr("Model: %1 · %2 %3")
                       .arg(QString::fromStdString(info->name), deviceKindName(info->options.device),
                           computeDTypeName(info->options.dtype));
    if (info->untrained) text += tr(" (untrained: it makes noise-like sound; open a real MusicGen folder for music)");
    m_modelLabel->setText(text);
}

void MainWindow::updateBankLabel()
{
    const BankSummary* bank = m_bridge.bank();
    if (!bank) {
        m_bankLabel->setText(tr("No adapter bank: the sliders are off. Open one with File ▸ Open adapter bank…"));
        return;
    }
    // A folder just called "bank" says little: name its parent too.
    const QFileInfo folder(m_bridge.bankDir());
    const QString name
        = folder.fileName() == "bank" ? QFileInfo(folder.path()).fileName() + "/bank" : folder.fileName();
    const QString folderPath = QDir::toNativeSeparators(m_bridge.bankDir());
    const MeasuredSteering* measured = m_bridge.measuredSteering();
    if (bank->modelWarning.empty()) {
        m_bankLabel->setText(tr("Adapter bank %1 · %2 adapters").arg(name).arg(bank->adapterCount())
            + (measured ? " · " + measuredBankLine(*measured) : QString()));
        m_bankLabel->setToolTip(folderPath
            + (measured ? tr("\nThe dots after the slider names: filled, the slider moved its metric the right way in "
                             "the steering report; hollow, no measurable effect. Hover a slider for its figures.")
                        : QString()));
    } else { // trained on other weights: say so where the bank is named, and why on hover
        m_bankLabel->setText(
            tr("Adapter bank %1 · %2 adapters · ⚠ trained on another model").arg(name).arg(bank->adapterCount()));
        m_bankLabel->setToolTip(folderPath + "\n" + QString::fromStdString(bank->modelWarning));
    }
}

void MainWindow::updateAudioLabel()
{
    if (m_bridge.hasAudioOutput())
        m_audioLabel->setText(tr("Audio: %1").arg(m_bridge.audioDeviceName()));
    else if (m_bridge.audioOutputError().isEmpty())
        m_audioLabel->setText(tr("Audio: opening…"));
    else
        m_audioLabel->setText(tr("No audio output"));
    m_audioLabel->setToolTip(m_bridge.audioOutputError());
}

} // namespace tmk::ui
