// The dataset CSV reader: RFC-4180 quoting, line ends, BOM, gzip, malformed rows and headers.
#include <fstream>
#include <gtest/gtest.h>
#include <zlib.h>

#include "data/csv_reader.h"
#include "simple_csv.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;

namespace {

struct Row {
    int64_t line;
    std::vector<std::string> fields;
};

std::vector<Row> allRows(CsvReader& reader)
{
    std::vector<Row> rows;
    while (reader.next())
        rows.push_back({ reader.line(), std::vector<std::string>(reader.fields().begin(), reader.fields().end()) });
    return rows;
}

CsvReader fromText(const std::string& text)
{
    Expected<CsvReader> reader = CsvReader::fromText(text, "test.csv");
    EXPECT_TRUE(reader.ok()) << (reader.ok() ? "" : reader.error().message);
    return reader.ok() ? std::move(*reader) : *CsvReader::fromText("x\n", "empty.csv");
}

void writeGzip(const fs::path& path, const std::string& text)
{
    gzFile file = gzopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
    gzclose(file);
}

void writeText(const fs::path& path, const std::string& text)
{
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

TEST(CsvReader, QuotedFieldsHoldCommasNewlinesAndDoubledQuotes)
{
    CsvReader reader = fromText("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\"\"\n3,,last\n");
    EXPECT_EQ(reader.header(), (std::vector<std::string> { "a", "b", "c" }));
    const std::vector<Row> rows = allRows(reader);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].fields, (std::vector<std::string> { "1", "x, y", "say \"hi\"" }));
    EXPECT_EQ(rows[1].fields, (std::vector<std::string> { "2", "two\nlines", "" }));
    EXPECT_EQ(rows[2].fields, (std::vector<std::string> { "3", "", "last" }));
    EXPECT_EQ(rows[0].line, 2);
    EXPECT_EQ(rows[1].line, 3);
    EXPECT_EQ(rows[2].line, 5) << "the embedded newline counts as a line";
    EXPECT_TRUE(reader.problems().empty());
}

TEST(CsvReader, CrlfLineEndsBlankLinesAndAMissingFinalNewline)
{
    CsvReader reader = fromText("a,b\r\n1,\"q\r\nr\"\r\n\r\n2,x\r\n3,y");
    const std::vector<Row> rows = allRows(reader);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(reader.header()[1], "b") << "no \\r left on the last header field";
    EXPECT_EQ(rows[0].fields[1], "q\r\nr") << "line ends inside quotes are kept";
    EXPECT_EQ(rows[1].fields, (std::vector<std::string> { "2", "x" }));
    EXPECT_EQ(rows[1].line, 5);
    EXPECT_EQ(rows[2].fields, (std::vector<std::string> { "3", "y" }));
}

TEST(CsvReader, DropsAUtf8ByteOrderMarkAndFindsColumnsIgnoringCase)
{
    CsvReader reader = fromText("\xEF\xBB\xBFtrack_id, Views ,T\xC3\xADtulo\nabc,10,\xC3\xA9\n");
    EXPECT_EQ(reader.findColumn("track_id"), 0);
    EXPECT_EQ(reader.findColumn("VIEWS"), 1);
    EXPECT_EQ(reader.findColumn("T\xC3\xADtulo"), 2);
    EXPECT_EQ(reader.findColumn("likes"), -1);
    ASSERT_TRUE(reader.next());
    EXPECT_EQ(reader.field(2), "\xC3\xA9");
}

TEST(CsvReader, ReadsGzipByNameOrByMagicAndPlainFilesAlike)
{
    const fs::path dir = test::freshOutDir("csv_reader_gzip");
    const std::string text = "id,name\n1,\"a,b\"\n2,c\n";
    writeGzip(dir / "data.csv.gz", text);
    writeGzip(dir / "data_without_suffix.csv", text);
    writeText(dir / "plain.csv", text);
    for (const char* name : { "data.csv.gz", "data_without_suffix.csv", "plain.csv" }) {
        Expected<CsvReader> reader = CsvReader::open(dir / name);
        ASSERT_TRUE(reader.ok()) << reader.error().message;
        EXPECT_EQ(reader->name(), name);
        const std::vector<Row> rows = allRows(*reader);
        ASSERT_EQ(rows.size(), 2u) << name;
        EXPECT_EQ(rows[0].fields[1], "a,b") << name;
        EXPECT_EQ(rows[1].fields[1], "c") << name;
    }
}

TEST(CsvReader, TruncatedGzipIsAnErrorNamingTheFile)
{
    const fs::path dir = test::freshOutDir("csv_reader_truncated");
    std::string big = "id,value\n";
    for (int i = 0; i < 20000; ++i) big += std::to_string(i) + "," + std::to_string(i * 7919 % 1000) + "\n";
    writeGzip(dir / "full.csv.gz", big);
    std::string bytes = test::fileBytes(dir / "full.csv.gz");
    writeText(dir / "cut.csv.gz", bytes.substr(0, bytes.size() / 2));
    Expected<CsvReader> reader = CsvReader::open(dir / "cut.csv.gz");
    ASSERT_FALSE(reader.ok());
    EXPECT_NE(reader.error().message.find("cut.csv.gz"), std::string::npos) << reader.error().message;
}

TEST(CsvReader, MalformedRowsAreSkippedWithTheirLineNumbers)
{
    Expected<CsvReader> reader = CsvReader::open(test::dataDir() / "datasets" / "malformed_rows.csv");
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    const std::vector<Row> rows = allRows(*reader);
    std::vector<std::string> ids;
    for (const Row& row : rows) ids.push_back(row.fields[0]);
    EXPECT_EQ(ids, (std::vector<std::string> { "t01", "t02", "t03", "t05", "t07", "" }));
    EXPECT_EQ(rows[1].fields[2], "Multi\nline title");
    EXPECT_EQ(rows[2].fields[2], "He said \"hi\"");
    EXPECT_EQ(rows[3].line, 7);
    const std::vector<CsvProblem>& problems = reader->problems();
    ASSERT_EQ(problems.size(), 4u);
    EXPECT_EQ(problems[0].line, 6);
    EXPECT_EQ(problems[0].problem, "wrong number of fields (expected 14)");
    EXPECT_EQ(problems[1].line, 8);
    EXPECT_EQ(problems[1].problem, "text after a closing quote");
    EXPECT_EQ(problems[2].line, 11);
    EXPECT_EQ(problems[2].problem, problems[0].problem);
    EXPECT_EQ(problems[3].line, 12);
    EXPECT_EQ(problems[3].problem, "unterminated quoted field");
    EXPECT_EQ(reader->rowsRead(), 10) << "6 good rows and 4 malformed ones (the unterminated quote runs to the end)";
}

TEST(CsvReader, MalformedHeadersAreErrorsNamingTheFile)
{
    Expected<CsvReader> unterminated = CsvReader::open(test::dataDir() / "datasets" / "bad_header.csv");
    ASSERT_FALSE(unterminated.ok());
    EXPECT_EQ(unterminated.error().code, ErrorCode::Format);
    EXPECT_NE(unterminated.error().message.find("bad_header.csv"), std::string::npos) << unterminated.error().message;
    EXPECT_NE(unterminated.error().message.find("malformed header"), std::string::npos) << unterminated.error().message;

    const std::vector<std::pair<std::string, std::string>> cases = {
        { "", "no header row" },
        { "\n\n", "no header row" },
        { "a,b,A\n1,2,3\n", "appears twice" },
        { ",,\n1,2,3\n", "no column has a name" },
        { "\"a\"b,c\n", "text after a closing quote" },
        { std::string("a,b\n1,\0\n", 8), "NUL" },
    };
    for (const auto& [text, expected] : cases) {
        Expected<CsvReader> reader = CsvReader::fromText(text, "case.csv");
        ASSERT_FALSE(reader.ok()) << "accepted: " << text;
        EXPECT_NE(reader.error().message.find("case.csv"), std::string::npos) << reader.error().message;
        EXPECT_NE(reader.error().message.find(expected), std::string::npos) << reader.error().message;
    }
    Expected<CsvReader> missing = CsvReader::open(test::dataDir() / "datasets" / "no_such_file.csv");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("no_such_file.csv"), std::string::npos);
}

TEST(CsvReader, NumbersAreFiniteDecimalsOrNothing)
{
    EXPECT_EQ(parseCsvNumber("0.676"), 0.676);
    EXPECT_EQ(parseCsvNumber("1.01e-06"), 1.01e-06);
    EXPECT_EQ(parseCsvNumber(" -6.746 "), -6.746);
    EXPECT_EQ(parseCsvNumber("+2"), 2.0);
    EXPECT_EQ(parseCsvNumber("693555221"), 693555221.0);
    for (const char* bad : { "", "  ", "abc", "1.5x", "nan", "NaN", "inf", "-inf", "False", "1,5" })
        EXPECT_FALSE(parseCsvNumber(bad).has_value()) << bad;
}

TEST(CsvReader, AgreesWithASimpleReaderOnTheSampleDataset)
{
    const fs::path path = test::dataDir() / "datasets" / "tracks_sample.csv.gz";
    const auto expected = test::parseCsvText(test::readAllInflated(path));
    Expected<CsvReader> reader = CsvReader::open(path);
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    ASSERT_GT(expected.size(), 400u);
    EXPECT_EQ(reader->header(), expected[0]);
    size_t row = 1;
    while (reader->next()) {
        ASSERT_LT(row, expected.size());
        EXPECT_EQ(std::vector<std::string>(reader->fields().begin(), reader->fields().end()), expected[row])
            << "row " << row;
        ++row;
    }
    EXPECT_EQ(row, expected.size());
    EXPECT_TRUE(reader->problems().empty());
}
