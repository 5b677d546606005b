// A fast RFC-4180 CSV reader for metadata datasets (internal to the engine's training module).
//
// The whole file is read into memory (gunzipped through zlib when it is gzip-compressed, whatever its
// name), a UTF-8 byte-order mark is dropped, and the first row is the header. Rows are then parsed in
// place: quoted fields may hold commas, newlines and doubled quotes; lines end in \n or \r\n. A row with
// the wrong number of fields, an unterminated quote or text after a closing quote is skipped and recorded
// (with the line it starts on) in problems(); a malformed header is an error naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tastemaker/cancel.h"
#include "tastemaker/error.h"

namespace tmk {

struct CsvProblem {
    int64_t line = 0; // 1-based line on which the malformed row starts
    std::string problem; // e.g. "wrong number of fields (expected 21)"; rows with one problem share the text
};

class CsvReader {
public:
    // Reads `path` (plain or gzip) and parses its header. Errors name the file.
    static Expected<CsvReader> open(const std::filesystem::path& path);
    // The same on text already in memory; `name` stands for the file in messages.
    static Expected<CsvReader> fromText(std::string text, std::string name);

    const std::string& name() const { return m_name; } // the file's name (no folders), for messages
    const std::vector<std::string>& header() const { return m_header; }
    // Index of the column named `name` (ASCII case-insensitive, surrounding spaces ignored), or -1.
    int findColumn(std::string_view name) const;

    // Advances to the next well-formed row; false at the end of the file. Malformed rows are skipped.
    bool next();
    std::span<const std::string_view> fields() const { return m_fields; } // valid until the next call
    std::string_view field(int column) const { return m_fields[static_cast<size_t>(column)]; }
    int64_t line() const { return m_rowLine; } // where the current row starts

    int64_t rowsRead() const { return m_rowsRead; } // data rows seen so far, malformed ones included
    const std::vector<CsvProblem>& problems() const { return m_problems; }
    size_t bytesDone() const { return m_pos; }
    size_t bytesTotal() const { return m_text.size(); }

private:
    enum class RowStatus { Ok, Malformed, End };
    RowStatus parseRow();
    bool parseQuoted(size_t& fieldEnd);
    void skipToLineEnd();
    Expected<void> parseHeader();

    std::string m_name;
    std::string m_text;
    size_t m_pos = 0;
    int64_t m_line = 1;
    int64_t m_rowLine = 0;
    int64_t m_rowsRead = 0;
    std::string m_problem; // set by parseRow when it returns Malformed
    std::vector<std::string> m_header;
    std::vector<std::string_view> m_fields;
    std::vector<CsvProblem> m_problems;
};

// A cell as a finite number: surrounding spaces are ignored; empty, non-numeric, inf and nan give nullopt.
std::optional<double> parseCsvNumber(std::string_view cell);

// Reads a whole file, gunzipping it when it starts with the gzip magic (zlib reads plain files as-is).
Expected<std::string> readMaybeGzipped(const std::filesystem::path& path);

} // namespace tmk
