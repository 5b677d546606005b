// TargetsPage (see targets_page.h).
#include "training/targets_page.h"

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QVBoxLayout>

#include "engine_bridge.h"
#include "training/wizard_context.h"
#include "widgets/qt_text.h"

namespace tmk::ui {

TargetsPage::TargetsPage(WizardContext& context, QWidget* parent)
    : QWizardPage(parent)
    , m_context(context)
{
    setTitle(tr("Adapters to train"));
    setSubTitle(
        tr("Each slider has two adapters: \"+\" moves the music towards the right-hand label, \"−\" towards the "
           "left-hand one. They are trained one after the other."));
    auto* layout = new QVBoxLayout(this);

    auto* gridHost = new QWidget(this);
    auto* grid = new QGridLayout(gridHost);
    buildGrid(grid);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(gridHost);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    layout->addWidget(scroll, 1);

    auto* selection = new QHBoxLayout();
    auto* all = new QPushButton(tr("Select all available"), this);
    all->setObjectName("selectAllTargets");
    auto* none = new QPushButton(tr("Clear"), this);
    none->setObjectName("clearTargets");
    selection->addWidget(all);
    selection->addWidget(none);
    selection->addStretch(1);
    layout->addLayout(selection);
    connect(all, &QPushButton::clicked, this, &TargetsPage::selectAllAvailable);
    connect(none, &QPushButton::clicked, this, &TargetsPage::clearSelection);

    auto* folders = new QGridLayout();
    folders->setColumnStretch(1, 1);
    m_model = addFolderRow(folders, tr("Base model"),
        tr("The MusicGen folder the adapters are trained on (and later used with)."), "modelDir");
    m_bank = addFolderRow(folders, tr("Adapter bank"),
        tr("Finished adapters are registered in this bank's bank.json (created when missing)."), "bankDir");
    m_runs = addFolderRow(folders, tr("Runs folder"),
        tr("Each run keeps its settings, logs, metrics and checkpoints in its own folder here."), "runsRoot");
    layout->addLayout(folders);

    m_message = new QLabel(this);
    m_message->setObjectName("targetsMessage");
    m_message->setWordWrap(true);
    layout->addWidget(m_message);

    QSettings settings;
    const EngineBridge& engine = m_context.bridge.engine();
    m_model->setText(
        !engine.modelDir().isEmpty() ? engine.modelDir() : settings.value(training_settings::kModelDir).toString());
    m_bank->setText(
        !engine.bankDir().isEmpty() ? engine.bankDir() : settings.value(training_settings::kBankDir).toString());
    m_runs->setText(settings.value(training_settings::kRunsRoot, TrainingBridge::defaultRunsRoot()).toString());
    connect(m_model, &QLineEdit::textChanged, this, &TargetsPage::updateState);
    connect(m_runs, &QLineEdit::textChanged, this, &TargetsPage::updateState);
    connect(m_bank, &QLineEdit::textChanged, this, [this]() {
        refreshBankMarks();
        updateState();
    });
    refreshBankMarks();
    updateState();
}

TargetsPage::~TargetsPage() = default;

void TargetsPage::buildGrid(QGridLayout* grid)
{
    grid->addWidget(new QLabel(tr("<b>Slider</b>"), this), 0, 0);
    grid->addWidget(new QLabel(tr("<b>− adapter</b>"), this), 0, 1);
    grid->addWidget(new QLabel(tr("<b>+ adapter</b>"), this), 0, 2);
    int row = 1;
    for (const MetricInfo& metric : m_context.bridge.metrics()) {
        auto* name = new QLabel(qs(metric.name), this);
        name->setToolTip(qs(metric.description));
        grid->addWidget(name, row, 0);
        for (AdapterSide side : { AdapterSide::Negative, AdapterSide::Positive }) {
            const bool positive = side == AdapterSide::Positive;
            const QString base = (positive ? "+ " : "− ") + qs(positive ? metric.positiveLabel : metric.negativeLabel);
            auto* box = new QCheckBox(base, this);
            box->setObjectName(qs(adapterName(metric.id, side)));
            box->setProperty("baseText", base);
            grid->addWidget(box, row, positive ? 2 : 1);
            m_boxes.emplace(std::make_pair(metric.id, side), box);
            connect(box, &QCheckBox::toggled, this, &TargetsPage::updateState);
        }
        ++row;
    }
    grid->setColumnMinimumWidth(1, 200);
    grid->setColumnMinimumWidth(2, 200);
    grid->setColumnStretch(3, 1); // spare width right of the checkboxes
    grid->setRowStretch(row, 1); // and spare height under them
}

QLineEdit* TargetsPage::addFolderRow(QGridLayout* grid, const QString& label, const QString& hint, const QString& name)
{
    const int row = grid->rowCount();
    auto* edit = new QLineEdit(this);
    edit->setObjectName(name);
    edit->setToolTip(hint);
    auto* browse = new QPushButton(tr("Browse…"), this);
    browse->setObjectName(name + "Browse");
    grid->addWidget(new QLabel(label, this), row, 0);
    grid->addWidget(edit, row, 1);
    grid->addWidget(browse, row, 2);
    connect(browse, &QPushButton::clicked, this, [this, edit, label]() {
        const QString chosen = QFileDialog::getExistingDirectory(this, label, edit->text());
        if (!chosen.isEmpty()) edit->setText(chosen);
    });
    return edit;
}

QCheckBox* TargetsPage::checkBox(const QString& metric, AdapterSide side) const
{
    auto it = m_boxes.find(std::make_pair(metric.toStdString(), side));
    return it == m_boxes.end() ? nullptr : it->second;
}

std::vector<TrainingTarget> TargetsPage::selectedTargets() const
{
    std::vector<TrainingTarget> targets;
    for (const MetricInfo& metric : m_context.bridge.metrics()) // metrics order, "+" before "−"
        for (AdapterSide side : { AdapterSide::Positive, AdapterSide::Negative })
            if (QCheckBox* box = checkBox(qs(metric.id), side); box && box->isEnabled() && box->isChecked())
                targets.push_back(TrainingTarget { metric.id, side });
    return targets;
}

void TargetsPage::selectAllAvailable()
{
    for (auto& [key, box] : m_boxes)
        if (box->isEnabled()) box->setChecked(true);
}

void TargetsPage::clearSelection()
{
    for (auto& [key, box] : m_boxes) box->setChecked(false);
}

void TargetsPage::setModelDir(const QString& dir)
{
    m_model->setText(dir);
}
void TargetsPage::setBankDir(const QString& dir)
{
    m_bank->setText(dir);
}
void TargetsPage::setRunsRoot(const QString& dir)
{
    m_runs->setText(dir);
}
QString TargetsPage::modelDir() const
{
    return m_model->text().trimmed();
}
QString TargetsPage::bankDir() const
{
    return m_bank->text().trimmed();
}
QString TargetsPage::runsRoot() const
{
    return m_runs->text().trimmed();
}
QString TargetsPage::messageText() const
{
    return m_message->text();
}

void TargetsPage::refreshAvailability()
{
    const std::optional<PairReport>& report = m_context.report;
    for (auto& [key, box] : m_boxes) {
        const MetricPairStats* stats = report ? report->find(key.first) : nullptr;
        QString reason;
        if (report && !stats)
            reason = tr("The preview has no pairs for this metric.");
        else if (stats && !stats->available)
            reason = qs(stats->unavailableReason);
        else if (stats && stats->trainPairs == 0)
            reason = tr("The preview found no training pairs for this metric.");
        box->setEnabled(reason.isEmpty());
        if (!reason.isEmpty()) box->setChecked(false);
        box->setProperty("unavailableReason", reason);
        box->setProperty("trainPairs", stats ? QVariant::fromValue<qlonglong>(stats->trainPairs) : QVariant());
    }
    refreshBankMarks();
}

void TargetsPage::refreshBankMarks()
{
    m_bankSummary = TrainingBridge::readBank(bankDir().toStdString(), m_context.bridge.metrics());
    for (auto& [key, box] : m_boxes) {
        const BankMetric* inBank = m_bankSummary ? m_bankSummary->find(key.first) : nullptr;
        const bool present = inBank && inBank->has(key.second);
        const QString base = box->property("baseText").toString();
        box->setText(present ? base + tr("  ✓ in bank") : base);
        box->setProperty("inBank", present);
        const QString reason = box->property("unavailableReason").toString();
        QString tip;
        if (!reason.isEmpty()) {
            tip = reason;
        } else {
            tip = tr("Train %1").arg(qs(adapterName(key.first, key.second)));
            if (box->property("trainPairs").isValid())
                tip += tr(" on %1 training pairs").arg(box->property("trainPairs").toLongLong());
            if (present) tip += tr(".\nThe bank already has this adapter; training again replaces it.");
        }
        box->setToolTip(tip);
    }
}

QString TargetsPage::problem() const
{
    if (selectedTargets().empty()) return tr("Select at least one adapter to train.");
    if (modelDir().isEmpty()) return tr("Choose the base model folder.");
    if (!QFileInfo(QDir(modelDir()).filePath("config.json")).isFile())
        return tr("The base model folder %1 has no config.json (choose a Hugging Face MusicGen folder).")
            .arg(modelDir());
    if (bankDir().isEmpty()) return tr("Choose the adapter bank the finished adapters are registered in.");
    if (runsRoot().isEmpty()) return tr("Choose the runs folder.");
    return {};
}

void TargetsPage::updateState()
{
    const QString text = problem();
    const size_t count = selectedTargets().size();
    m_message->setText(text.isEmpty() ? tr("%n adapter(s) will be trained.", nullptr, static_cast<int>(count)) : text);
    Q_EMIT completeChanged();
}

void TargetsPage::initializePage()
{
    refreshAvailability();
    updateState();
}

bool TargetsPage::isComplete() const
{
    return problem().isEmpty();
}

bool TargetsPage::validatePage()
{
    if (!problem().isEmpty()) return false;
    TrainingPlan& plan = m_context.plan;
    plan.targets = selectedTargets();
    plan.modelDir = modelDir().toStdString();
    plan.bankDir = bankDir().toStdString();
    plan.runsRoot = runsRoot().toStdString();
    QSettings settings;
    settings.setValue(training_settings::kModelDir, modelDir());
    settings.setValue(training_settings::kBankDir, bankDir());
    settings.setValue(training_settings::kRunsRoot, runsRoot());
    return true;
}

} // namespace tmk::ui
