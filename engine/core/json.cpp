#include "core/json.h"

#include "tastemaker/fileio.h"

namespace tmk {

Expected<nlohmann::json> readJsonFile(const std::filesystem::path& path)
{
    Expected<std::string> text = readFileText(path);
    if (!text) return text.error();
    try {
        return nlohmann::json::parse(*text);
    } catch (const nlohmann::json::parse_error& e) {
        return Error::inFile(
            ErrorCode::Format, path.string(), "is not valid JSON (at byte " + std::to_string(e.byte) + ")");
    } catch (const nlohmann::json::exception& e) {
        return Error::inFile(ErrorCode::Format, path.string(), std::string("is not valid JSON (") + e.what() + ")");
    }
}

Expected<void> writeJsonFileAtomic(const std::filesystem::path& path, const nlohmann::json& value)
{
    return writeFileAtomic(path, value.dump(2) + "\n");
}

} // namespace tmk
