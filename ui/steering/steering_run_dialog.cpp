// SteeringRunDialog (see steering_run_dialog.h).
#include "steering/steering_run_dialog.h"

#include <algorithm>

#include <QDateTime>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QVBoxLayout>

#include "steering/steering_report_widgets.h"

namespace tmk::ui {

namespace {

constexpr int kDefaultSeeds = 16; // the "at least 16 seeds x 4 prompts per value"

QString valuesText(const std::vector<double>& values)
{
    QStringList items;
    for (double value : values) items << QString::number(value);
    return items.join(", ");
}

} // namespace

SteeringRunDialog::SteeringRunDialog(const BankSummary& bank, const std::vector<MetricInfo>& metrics, QWidget* parent)
    : QDialog(parent)
{
    setObjectName("steeringRunDialog");
    setWindowTitle(tr("Run a steering report"));
    const SteeringEvalParams defaults;

    m_sliders = new QListWidget(this);
    m_sliders->setObjectName("steeringRunSliders");
    for (const BankMetric& metric : bank.metrics) {
        if (!metric.hasPositive() || !metric.hasNegative()) continue;
        auto* entry = new QListWidgetItem(metricName(metrics, metric.id), m_sliders);
        entry->setData(Qt::UserRole, QString::fromStdString(metric.id));
        entry->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled);
        entry->setCheckState(Qt::Checked);
    }
    auto* all = new QPushButton(tr("All"), this);
    auto* none = new QPushButton(tr("None"), this);
    const auto checkAll = [this](Qt::CheckState state) {
        for (int i = 0; i < m_sliders->count(); ++i) m_sliders->item(i)->setCheckState(state);
    };
    connect(all, &QPushButton::clicked, this, [checkAll]() { checkAll(Qt::Checked); });
    connect(none, &QPushButton::clicked, this, [checkAll]() { checkAll(Qt::Unchecked); });

    m_seeds = new QSpinBox(this);
    m_seeds->setRange(1, 1024);
    m_seeds->setValue(kDefaultSeeds);
    m_prompts = new QPlainTextEdit(this);
    QStringList prompts;
    for (const std::string& prompt : defaultSteeringPrompts()) prompts << QString::fromStdString(prompt);
    m_prompts->setPlainText(prompts.join("\n"));
    m_prompts->setToolTip(tr("One prompt per line. For a held-out measurement use prompts no training pair has."));
    m_values = new QLineEdit(valuesText(defaults.values), this);
    m_seconds = new QDoubleSpinBox(this);
    m_seconds->setRange(0.5, 30.0);
    m_seconds->setSingleStep(0.5);
    m_seconds->setSuffix(tr(" s"));
    m_seconds->setValue(defaults.durationSeconds);
    m_outDir = new QLineEdit(defaultOutDir(bank), this);
    auto* browse = new QPushButton(tr("Browse…"), this);
    connect(browse, &QPushButton::clicked, this, [this]() {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Write the report into"), m_outDir->text());
        if (!dir.isEmpty()) m_outDir->setText(dir);
    });

    auto* form = new QFormLayout;
    auto* sliderButtons = new QHBoxLayout;
    sliderButtons->addWidget(all);
    sliderButtons->addWidget(none);
    sliderButtons->addStretch(1);
    auto* sliderColumn = new QVBoxLayout;
    sliderColumn->addWidget(m_sliders);
    sliderColumn->addLayout(sliderButtons);
    form->addRow(tr("Sliders"), sliderColumn);
    form->addRow(tr("Seeds per value"), m_seeds);
    form->addRow(tr("Prompts"), m_prompts);
    form->addRow(tr("Slider values"), m_values);
    form->addRow(tr("Clip length"), m_seconds);
    auto* outRow = new QHBoxLayout;
    outRow->addWidget(m_outDir, 1);
    outRow->addWidget(browse);
    form->addRow(tr("Report folder"), outRow);

    m_summary = new QLabel(this);
    m_summary->setObjectName("steeringRunSummary");
    m_summary->setWordWrap(true);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Run"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_summary);
    layout->addWidget(m_buttons);

    connect(m_sliders, &QListWidget::itemChanged, this, &SteeringRunDialog::refresh);
    connect(m_seeds, &QSpinBox::valueChanged, this, &SteeringRunDialog::refresh);
    connect(m_prompts, &QPlainTextEdit::textChanged, this, &SteeringRunDialog::refresh);
    connect(m_values, &QLineEdit::textChanged, this, &SteeringRunDialog::refresh);
    connect(m_seconds, &QDoubleSpinBox::valueChanged, this, &SteeringRunDialog::refresh);
    connect(m_outDir, &QLineEdit::textChanged, this, &SteeringRunDialog::refresh);
    refresh();
}

QString SteeringRunDialog::defaultOutDir(const BankSummary& bank)
{
    const std::filesystem::path dir = bank.dir.has_filename() ? bank.dir : bank.dir.parent_path(); // "bank/"
    const QString name = QString::fromStdString(dir.filename().string());
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/steering-reports/"
        + (name.isEmpty() ? QString("bank") : name) + "-" + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss");
}

std::optional<std::vector<double>> SteeringRunDialog::parseValues(const QString& text)
{
    std::vector<double> values;
    for (const QString& item : text.split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const double value = item.trimmed().toDouble(&ok);
        if (!ok) return std::nullopt;
        values.push_back(value);
    }
    return values;
}

SteeringRunRequest SteeringRunDialog::request() const
{
    SteeringRunRequest request;
    for (int i = 0; i < m_sliders->count(); ++i)
        if (m_sliders->item(i)->checkState() == Qt::Checked)
            request.params.sliders.push_back(m_sliders->item(i)->data(Qt::UserRole).toString().toStdString());
    request.params.seeds = m_seeds->value();
    for (const QString& line : m_prompts->toPlainText().split('\n'))
        if (!line.trimmed().isEmpty()) request.params.prompts.push_back(line.trimmed().toStdString());
    request.params.values = parseValues(m_values->text()).value_or(std::vector<double> {});
    request.params.durationSeconds = m_seconds->value();
    request.outDir = m_outDir->text().trimmed();
    return request;
}

QString SteeringRunDialog::problem() const
{
    const SteeringRunRequest r = request();
    if (r.params.sliders.empty()) return tr("Choose at least one slider.");
    if (r.params.prompts.empty()) return tr("Give at least one prompt.");
    if (!parseValues(m_values->text())) return tr("The slider values must be numbers separated by commas.");
    if (r.outDir.isEmpty()) return tr("Choose the folder the report goes to.");
    if (Expected<void> valid = r.params.validate(); !valid) return QString::fromStdString(valid.error().message) + ".";
    return {};
}

void SteeringRunDialog::refresh()
{
    const QString why = problem();
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(why.isEmpty());
    if (!why.isEmpty()) {
        m_summary->setText(why);
        return;
    }
    const SteeringEvalParams params = request().params;
    const qint64 sliders = static_cast<qint64>(params.sliders.size()), seeds = params.seeds;
    const bool hasZero = std::find(params.values.begin(), params.values.end(), 0.0) != params.values.end();
    // The value-0 clips are the base model's: generated once per seed, shared by every slider.
    const qint64 generations
        = sliders * static_cast<qint64>(params.values.size()) * seeds - (hasZero ? (sliders - 1) * seeds : 0);
    m_summary->setText(tr("%1 clips in %2 generations of %3 s (each generation batches the %4 prompts). A full "
                          "report (every slider, 16 seeds) takes hours on a CPU; the app stays usable meanwhile, "
                          "but generating waits for it. Cancel keeps the clips done so far.")
                           .arg(generations * static_cast<qint64>(params.prompts.size()))
                           .arg(generations)
                           .arg(params.durationSeconds)
                           .arg(params.prompts.size())
        + (QFileInfo::exists(request().outDir + "/report.json")
                ? tr(" The folder already holds a report: it is continued, its clips that still apply are reused.")
                : QString()));
}

} // namespace tmk::ui
