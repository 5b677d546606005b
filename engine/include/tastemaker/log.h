// The engine never prints on the caller's behalf. It reports through a process-wide log sink that the
// application installs (the CLI prints to stderr; the GUI shows a log view). Without a sink, nothing is
// written.
#pragma once

#include <functional>
#include <string_view>

namespace tmk {

enum class LogLevel { Debug, Info, Warning, Error };

using LogSink = std::function<void(LogLevel, std::string_view)>;

// Installs the sink (thread-safe); pass nullptr to silence the engine.
void setLogSink(LogSink sink);
// Sends one message to the sink, if any. Never call it from a real-time audio callback.
void logMessage(LogLevel level, std::string_view message);
const char* logLevelName(LogLevel level);

} // namespace tmk
