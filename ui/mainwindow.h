// The main window: where users type prompts, move the 13 sliders, generate and audition clips.
#pragma once

#include <QMainWindow>

class QLabel;

namespace tmk::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);

    // Shows which model is loaded; untrained (random-weight) models are labelled as such.
    void setModelDescription(const QString& name, bool untrained);
    QString modelDescription() const;

private:
    void buildMenus();
    QLabel* m_status = nullptr;
};

}  // namespace tmk::ui
