// A deliberately simple CSV reader for tests that check the engine's CSV results independently
// (character by character, no in-place tricks), and a reader of JSON-lines files.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>
#include <zlib.h>

namespace tmk::test {

// The file's bytes; gzip files are inflated (zlib reads plain files unchanged).
inline std::string readAllInflated(const std::filesystem::path& path)
{
    std::string text;
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) return text;
    char buffer[65536];
    int got = 0;
    while ((got = gzread(file, buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(got));
    gzclose(file);
    return text;
}

// Rows of RFC-4180 text (quotes, doubled quotes, embedded newlines, \r\n); the header is rows[0].
inline std::vector<std::vector<std::string>> parseCsvText(const std::string& text)
{
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string cell;
    bool quoted = false, any = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
                cell += '"', ++i;
            else if (c == '"')
                quoted = false;
            else
                cell += c;
        } else if (c == '"') {
            quoted = any = true;
        } else if (c == ',') {
            row.push_back(cell), cell.clear(), any = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            if (any || !cell.empty()) row.push_back(cell), rows.push_back(row);
            row.clear(), cell.clear(), any = false;
        } else {
            cell += c, any = true;
        }
    }
    if (any || !cell.empty()) row.push_back(cell), rows.push_back(row);
    return rows;
}

inline int columnOf(const std::vector<std::string>& header, const std::string& name)
{
    for (size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

inline std::vector<std::string> fileLines(const std::filesystem::path& path)
{
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

inline std::string fileBytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

} // namespace tmk::test
