// One cell of a CSV file as the project's writers emit them (RFC 4180): the text itself, or, when it holds a comma,
// a double quote or a line break, the text in double quotes with its quotes doubled. Torch-free (tm_base).
#pragma once

#include <string>
#include <string_view>

namespace tmk {

std::string csvField(std::string_view text);

} // namespace tmk
