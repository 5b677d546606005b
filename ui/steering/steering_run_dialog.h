// The settings of a steering report run (Steering ▸ Steering report… ▸ Run report…): which sliders (default every
// one the bank has both adapters of), seeds per value (16), prompts (defaultSteeringPrompts()), slider values
// (-1, -0.5, 0, 0.5, 1), clip length and the folder the report goes to. It counts the clips the settings make and
// warns that a full run takes hours on a CPU; Run is enabled only while the settings are valid.
#pragma once

#include <vector>

#include <QDialog>

#include "steering/steering_report_runner.h"
#include "tastemaker/adapters.h"

class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QSpinBox;

namespace tmk::ui {

class SteeringRunDialog : public QDialog {
    Q_OBJECT

public:
    SteeringRunDialog(
        const tmk::BankSummary& bank, const std::vector<tmk::MetricInfo>& metrics, QWidget* parent = nullptr);

    // The settings as a request; the params are unchecked (see problem()).
    SteeringRunRequest request() const;
    // Why the settings cannot run ("" when they can).
    QString problem() const;

    // A fresh folder under AppDataLocation/steering-reports named after the bank and the time.
    static QString defaultOutDir(const tmk::BankSummary& bank);
    // "-1, -0.5, 0" -> values; nullopt when an item is not a number.
    static std::optional<std::vector<double>> parseValues(const QString& text);

    QListWidget* sliderList() const { return m_sliders; }
    QSpinBox* seedsBox() const { return m_seeds; }
    QPlainTextEdit* promptsEdit() const { return m_prompts; }
    QLineEdit* valuesEdit() const { return m_values; }
    QDoubleSpinBox* secondsBox() const { return m_seconds; }
    QLineEdit* outDirEdit() const { return m_outDir; }

private:
    void refresh();

    QListWidget* m_sliders = nullptr;
    QSpinBox* m_seeds = nullptr;
    QPlainTextEdit* m_prompts = nullptr;
    QLineEdit* m_values = nullptr;
    QDoubleSpinBox* m_seconds = nullptr;
    QLineEdit* m_outDir = nullptr;
    QLabel* m_summary = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace tmk::ui
