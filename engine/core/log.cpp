#include "tastemaker/log.h"

#include <memory>
#include <mutex>
#include <string>

namespace tmk {

namespace {
std::mutex& sinkMutex()
{
    static std::mutex mutex;
    return mutex;
}
std::shared_ptr<LogSink>& sinkSlot()
{
    static std::shared_ptr<LogSink> sink;
    return sink;
}
} // namespace

void setLogSink(LogSink sink)
{
    std::lock_guard lock(sinkMutex());
    sinkSlot() = sink ? std::make_shared<LogSink>(std::move(sink)) : nullptr;
}

void logMessage(LogLevel level, std::string_view message)
{
    std::shared_ptr<LogSink> sink;
    {
        std::lock_guard lock(sinkMutex());
        sink = sinkSlot();
    }
    if (sink) (*sink)(level, message);
}

const char* logLevelName(LogLevel level)
{
    switch (level) {
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warning:
        return "warning";
    case LogLevel::Error:
        return "error";
    }
    return "log";
}

} // namespace tmk
