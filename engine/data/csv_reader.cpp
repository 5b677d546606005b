#include "data/csv_reader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>
#include <zlib.h>

namespace tmk {

namespace fs = std::filesystem;

namespace {

std::string_view trimSpaces(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string lowerAscii(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

} // namespace

Expected<std::string> readMaybeGzipped(const fs::path& path)
{
    std::error_code ec;
    if (!fs::exists(path, ec)) return Error::inFile(ErrorCode::NotFound, path.string(), "does not exist");
    if (fs::is_directory(path, ec))
        return Error::inFile(ErrorCode::InvalidArgument, path.string(), "is a folder, not a CSV file");
    const uintmax_t onDisk = fs::file_size(path, ec);
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file)
        return Error::inFile(ErrorCode::Io, path.string(), std::string("could not be opened: ") + std::strerror(errno));
    gzbuffer(file, 1 << 18);
    std::string text;
    if (!ec) text.reserve(static_cast<size_t>(std::min<uintmax_t>(onDisk * 4, uintmax_t { 1 } << 30)));
    constexpr size_t kChunk = 1 << 20;
    while (true) {
        const size_t old = text.size();
        text.resize(old + kChunk);
        const int got = gzread(file, text.data() + old, static_cast<unsigned>(kChunk));
        if (got < 0) {
            int code = 0;
            const std::string message = gzerror(file, &code);
            gzclose(file);
            return Error::inFile(ErrorCode::Format, path.string(), "could not be read (" + message + ")");
        }
        text.resize(old + static_cast<size_t>(got));
        if (got == 0) break;
    }
    int code = 0;
    const std::string message = gzerror(file, &code);
    gzclose(file);
    if (code == Z_BUF_ERROR) return Error::inFile(ErrorCode::Format, path.string(), "is a truncated gzip file");
    if (code != Z_OK) return Error::inFile(ErrorCode::Format, path.string(), "could not be read (" + message + ")");
    return text;
}

std::optional<double> parseCsvNumber(std::string_view cell)
{
    cell = trimSpaces(cell);
    if (!cell.empty() && cell.front() == '+') cell.remove_prefix(1);
    if (cell.empty()) return std::nullopt;
    double value = 0.0;
    const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
    if (error != std::errc() || end != cell.data() + cell.size() || !std::isfinite(value)) return std::nullopt;
    return value;
}

Expected<CsvReader> CsvReader::open(const fs::path& path)
{
    Expected<std::string> text = readMaybeGzipped(path);
    if (!text) return text.error();
    return fromText(std::move(*text), path.filename().string());
}

Expected<CsvReader> CsvReader::fromText(std::string text, std::string name)
{
    CsvReader reader;
    reader.m_name = std::move(name);
    reader.m_text = std::move(text);
    if (reader.m_text.compare(0, 3, "\xEF\xBB\xBF") == 0) reader.m_pos = 3;
    TMK_TRY(reader.parseHeader());
    return reader;
}

Expected<void> CsvReader::parseHeader()
{
    if (std::memchr(m_text.data(), '\0', m_text.size()) != nullptr)
        return Error::inFile(ErrorCode::Format, m_name, "is not a text CSV file (it contains NUL bytes)");
    const RowStatus status = parseRow();
    if (status == RowStatus::End) return Error::inFile(ErrorCode::Format, m_name, "is empty: it has no header row");
    if (status == RowStatus::Malformed)
        return Error::inFile(ErrorCode::Format, m_name,
            "has a malformed header on line " + std::to_string(m_rowLine) + " (" + m_problem + ")");
    std::set<std::string> seen;
    bool anyName = false;
    for (std::string_view field : m_fields) {
        const std::string_view name = trimSpaces(field);
        if (!name.empty() && !seen.insert(lowerAscii(name)).second)
            return Error::inFile(ErrorCode::Format, m_name,
                "has a malformed header: the column \"" + std::string(name) + "\" appears twice");
        anyName = anyName || !name.empty();
        m_header.emplace_back(field);
    }
    if (!anyName) return Error::inFile(ErrorCode::Format, m_name, "has a malformed header: no column has a name");
    m_fields.clear(); // no row yet
    return {};
}

int CsvReader::findColumn(std::string_view name) const
{
    name = trimSpaces(name);
    for (size_t i = 0; i < m_header.size(); ++i)
        if (equalsIgnoringCase(trimSpaces(m_header[i]), name)) return static_cast<int>(i);
    return -1;
}

bool CsvReader::next()
{
    while (true) {
        const RowStatus status = parseRow();
        if (status == RowStatus::End) return false;
        ++m_rowsRead;
        if (status == RowStatus::Malformed) {
            m_problems.push_back({ m_rowLine, m_problem });
            continue;
        }
        if (m_fields.size() != m_header.size()) {
            m_problems.push_back(
                { m_rowLine, "wrong number of fields (expected " + std::to_string(m_header.size()) + ")" });
            continue;
        }
        return true;
    }
}

// m_pos is on the opening quote. Unescapes the field in place; on success m_pos is just past the closing
// quote and `fieldEnd` is the end of the unescaped text (which starts right after the opening quote).
bool CsvReader::parseQuoted(size_t& fieldEnd)
{
    char* text = m_text.data();
    const size_t n = m_text.size();
    size_t read = m_pos + 1;
    size_t write = read;
    while (true) {
        const void* found = std::memchr(text + read, '"', n - read);
        const size_t quote = found ? static_cast<size_t>(static_cast<const char*>(found) - text) : n;
        m_line += std::count(text + read, text + quote, '\n');
        if (!found) {
            m_pos = n;
            m_problem = "unterminated quoted field";
            return false;
        }
        if (write != read) std::memmove(text + write, text + read, quote - read);
        write += quote - read;
        if (quote + 1 < n && text[quote + 1] == '"') {
            text[write++] = '"';
            read = quote + 2;
            continue;
        }
        m_pos = quote + 1;
        fieldEnd = write;
        return true;
    }
}

void CsvReader::skipToLineEnd()
{
    const void* found = std::memchr(m_text.data() + m_pos, '\n', m_text.size() - m_pos);
    if (!found) {
        m_pos = m_text.size();
        return;
    }
    m_pos = static_cast<size_t>(static_cast<const char*>(found) - m_text.data()) + 1;
    ++m_line;
}

CsvReader::RowStatus CsvReader::parseRow()
{
    m_fields.clear();
    char* text = m_text.data();
    const size_t n = m_text.size();
    const auto lineEndAt
        = [&](size_t i) { return text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n'); };
    while (m_pos < n && lineEndAt(m_pos)) { // blank lines are not rows
        m_pos += text[m_pos] == '\r' ? 2 : 1;
        ++m_line;
    }
    if (m_pos >= n) return RowStatus::End;
    m_rowLine = m_line;
    while (true) {
        const size_t start = m_pos;
        if (m_pos < n && text[m_pos] == '"') {
            size_t end = 0;
            if (!parseQuoted(end)) return RowStatus::Malformed;
            m_fields.emplace_back(text + start + 1, end - start - 1);
            if (m_pos < n && text[m_pos] != ',' && !lineEndAt(m_pos)) {
                m_problem = "text after a closing quote";
                skipToLineEnd();
                return RowStatus::Malformed;
            }
        } else {
            size_t i = m_pos;
            while (i < n && text[i] != ',' && !lineEndAt(i)) ++i;
            m_fields.emplace_back(text + start, i - start);
            m_pos = i;
        }
        if (m_pos >= n) return RowStatus::Ok;
        if (text[m_pos] == ',') {
            ++m_pos;
            continue;
        }
        m_pos += text[m_pos] == '\r' ? 2 : 1;
        ++m_line;
        return RowStatus::Ok;
    }
}

} // namespace tmk
