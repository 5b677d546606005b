// The wizard's targets page: a grid of checkboxes, one per metric and pole (13 × 2). Metrics the preview
// found unavailable (or without training pairs) are disabled with the reason as tooltip; adapters the
// chosen bank already has are marked "✓ in bank" (training again replaces them). It also picks the base
// model folder (default: the app's model), the bank the finished adapters register in, and the runs
// folder. At least one target is required.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include <QString>
#include <QWizardPage>

#include "tastemaker/adapters.h"
#include "training/training_bridge.h"

class QCheckBox;
class QGridLayout;
class QLabel;
class QLineEdit;

namespace tmk::ui {

struct WizardContext;

class TargetsPage : public QWizardPage {
    Q_OBJECT

public:
    explicit TargetsPage(WizardContext& context, QWidget* parent = nullptr);
    ~TargetsPage() override;

    QCheckBox* checkBox(const QString& metric, tmk::AdapterSide side) const;
    std::vector<TrainingTarget> selectedTargets() const;
    void selectAllAvailable();
    void clearSelection();

    void setModelDir(const QString& dir);
    void setBankDir(const QString& dir);
    void setRunsRoot(const QString& dir);
    QString modelDir() const;
    QString bankDir() const;
    QString runsRoot() const;
    QString messageText() const; // what is missing before Next

    void initializePage() override;
    bool isComplete() const override;
    bool validatePage() override;

private:
    QLineEdit* addFolderRow(QGridLayout* grid, const QString& label, const QString& hint, const QString& name);
    void buildGrid(QGridLayout* grid);
    void refreshAvailability();
    void refreshBankMarks();
    QString problem() const;
    void updateState();

    WizardContext& m_context;
    std::map<std::pair<std::string, tmk::AdapterSide>, QCheckBox*> m_boxes;
    QLineEdit* m_model = nullptr;
    QLineEdit* m_bank = nullptr;
    QLineEdit* m_runs = nullptr;
    QLabel* m_message = nullptr;
    std::optional<tmk::BankSummary> m_bankSummary;
};

} // namespace tmk::ui
