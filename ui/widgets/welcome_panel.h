// The first-run panel: what Tastemaker is, how to get a real MusicGen checkpoint, and buttons to open a
// model folder, use the bundled default model (the trained demo, or the tiny untrained one in test builds), or open an
// adapter bank.
#pragma once

#include <QWidget>

class QLabel;
class QPushButton;

namespace tmk::ui {

class WelcomePanel : public QWidget {
    Q_OBJECT

public:
    explicit WelcomePanel(QWidget* parent = nullptr);
    ~WelcomePanel() override;

    enum class DefaultModelKind { Demo, Untrained };
    // The paragraph about the default model: the trained demo (what it knows, example prompts) or the
    // untrained tiny test model.
    void setDefaultModelKind(DefaultModelKind kind);
    QLabel* defaultModelText() const { return m_defaultText; }

    // Greys out "Use the bundled default model" (with `reason` as its tooltip) when the build has none.
    void setDefaultModelAvailable(bool available, const QString& reason = {});

    QPushButton* openModelButton() const { return m_openModel; }
    QPushButton* defaultModelButton() const { return m_defaultModel; }
    QPushButton* openBankButton() const { return m_openBank; }

Q_SIGNALS:
    void openModelRequested();
    void useDefaultModelRequested();
    void openBankRequested();

private:
    QPushButton* m_openModel = nullptr;
    QPushButton* m_defaultModel = nullptr;
    QPushButton* m_openBank = nullptr;
    QLabel* m_defaultText = nullptr;
};

} // namespace tmk::ui
