// tastemaker: the desktop app. The composition root: it sets up the engine runtime, loads the model
// (the bundled default unless --model DIR is given) and shows the main window.
#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>

#include "mainwindow.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/runtime.h"

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName("Tastemaker");
    QApplication::setOrganizationName("Tastemaker");
    QCommandLineParser parser;
    parser.addHelpOption();
    QCommandLineOption modelOption("model", "Hugging Face MusicGen checkpoint folder to open.", "DIR", TM_DEFAULT_MODEL_DIR);
    parser.addOption(modelOption);
    parser.process(app);

    tmk::initRuntime();
    tmk::ui::MainWindow window;
    const QString modelDir = parser.value(modelOption);
    auto model = tmk::MusicgenModel::load(modelDir.toStdString(), tmk::ModelOptions{});
    if (model) {
        window.setModelDescription(QString::fromStdString((*model)->info().name), (*model)->info().untrained);
    } else {
        QMessageBox::warning(&window, QObject::tr("Could not open the model"), QString::fromStdString(model.error().message));
    }
    window.show();
    return QApplication::exec();
}
