// JSON helpers for the engine (internal): reading a file into nlohmann::json with errors that name the
// file, and typed field access with errors that name the file and the key.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tastemaker/error.h"

namespace tmk {

Expected<nlohmann::json> readJsonFile(const std::filesystem::path& path);
Expected<void> writeJsonFileAtomic(const std::filesystem::path& path, const nlohmann::json& value);

// Reads `object[key]` as T. `where` names the file (and section) for the error message.
template <typename T>
Expected<T> jsonField(const nlohmann::json& object, const std::string& key, const std::string& where)
{
    if (!object.is_object() || !object.contains(key))
        return Error::inFile(ErrorCode::Format, where, "has no \"" + key + "\" entry");
    try {
        return object.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        return Error::inFile(ErrorCode::Format, where,
            "entry \"" + key + "\" has the wrong type (" + std::string(object.at(key).type_name()) + ")");
    }
}

// Like jsonField, but returns `fallback` when the key is absent or null.
template <typename T>
Expected<T> jsonFieldOr(
    const nlohmann::json& object, const std::string& key, const T& fallback, const std::string& where)
{
    if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) return fallback;
    return jsonField<T>(object, key, where);
}

} // namespace tmk
