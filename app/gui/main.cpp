// tastemaker: the desktop app. The composition root: it sets up the engine runtime and the theme, makes the
// EngineBridge (the engine thread) and the main window, and opens the model and bank given on the command
// line or remembered from the last run (the welcome panel appears when there is neither).
#include <cstdio>
#include <filesystem>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QTimer>

#include "app_icon.h"
#include "engine_bridge.h"
#include "mainwindow.h"
#include "script_runner.h"
#include "tastemaker/log.h"
#include "tastemaker/metrics.h"
#include "tastemaker/process.h"
#include "tastemaker/runtime.h"
#include "widgets/theme.h"

int main(int argc, char** argv)
{
    tmk::preferPassiveOpenMpWait(argv);
    QApplication app(argc, argv);
    QApplication::setApplicationName("Tastemaker");
    QApplication::setOrganizationName("Tastemaker");
    QApplication::setApplicationVersion("0.1.0");
    QApplication::setWindowIcon(tmk::ui::appIcon());
    QApplication::setDesktopFileName("tastemaker");

    QCommandLineParser parser;
    parser.setApplicationDescription("Make music with MusicGen, steered by 13 sliders.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption modelOption(
        "model", "Hugging Face MusicGen checkpoint folder to open (default: the last one).", "DIR");
    QCommandLineOption bankOption(
        "bank", "Adapter bank folder (with bank.json) to open (default: the last one).", "DIR");
    QCommandLineOption libraryOption(
        "library", "Clip library folder (default: the app's data folder + /clips).", "DIR");
    QCommandLineOption noAudioOption("no-audio", "Do not open an audio output (clips are still generated and saved).");
    QCommandLineOption scriptOption("script",
        "Run a script of UI actions, then quit (for tests and screenshots; "
        "see ui/script_runner.h).",
        "FILE");
    parser.addOptions({ modelOption, bankOption, libraryOption, noAudioOption, scriptOption });
    parser.process(app);

    tmk::setLogSink([](tmk::LogLevel level, std::string_view message) {
        std::fprintf(stderr, "tastemaker: %s: %.*s\n", tmk::logLevelName(level), static_cast<int>(message.size()),
            message.data());
    });
    tmk::initRuntime();
    tmk::ui::applyTheme(app);

    tmk::ui::EngineBridgeOptions bridgeOptions;
    bridgeOptions.libraryDir = parser.value(libraryOption);
    bridgeOptions.openAudio = !parser.isSet(noAudioOption);
    tmk::ui::EngineBridge bridge(bridgeOptions);
    // The bundled default model: the trained demo model when it is there, else the untrained tiny one
    // (tmk::bundledModelDir: an installed tree before the source and build trees).
    const std::filesystem::path bundled = tmk::bundledModelDir();
    const QString defaultModel
        = bundled.empty() ? QStringLiteral(TM_DEFAULT_MODEL_DIR) : QString::fromStdString(bundled.string());
    tmk::ui::MainWindowOptions windowOptions;
    windowOptions.defaultModelDir = defaultModel;
    windowOptions.defaultIsDemo = tmk::isBundledDemoModel(bundled);
    if (windowOptions.defaultIsDemo) {
        const std::filesystem::path bank = tmk::bundledBankDir(); // models/demo-bank, once trained
        if (!bank.empty()) windowOptions.defaultBankDir = QString::fromStdString(bank.string());
    }
    tmk::ui::MainWindow window(bridge, windowOptions);
    window.show();
    window.openInitial(parser.value(modelOption), parser.value(bankOption));

    std::unique_ptr<tmk::ui::ScriptRunner> script;
    if (parser.isSet(scriptOption)) {
        auto lines = tmk::ui::ScriptRunner::readScript(parser.value(scriptOption));
        if (!lines) {
            std::fprintf(stderr, "tastemaker: %s\n", lines.error().message.c_str());
            return 2;
        }
        script = std::make_unique<tmk::ui::ScriptRunner>(window, std::move(*lines));
        QObject::connect(script.get(), &tmk::ui::ScriptRunner::finished, &app, [&](int code) {
            window.saveSettings();
            bridge.shutdown();
            QApplication::exit(code);
        });
        script->start();
    }
    return QApplication::exec();
}
