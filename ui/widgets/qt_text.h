#pragma once
// Engine strings (UTF-8 std::string) as Qt strings, for every widget and panel.

#include <string>

#include <QString>

namespace tmk::ui {

inline QString qs(const std::string& text)
{
    return QString::fromStdString(text);
}

} // namespace tmk::ui
