// libFuzzer target: the metadata CSV reader on arbitrary bytes must never crash, and every row it accepts
// must have exactly the header's field count, with fields that lie inside the text. Built by run_fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/csv_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    tmk::Expected<tmk::CsvReader> reader
        = tmk::CsvReader::fromText(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    if (!reader) {
        volatile size_t length = reader.error().message.size();
        (void)length;
        return 0;
    }
    const size_t columns = reader->header().size();
    if (columns == 0) __builtin_trap();
    int64_t lastLine = 0;
    while (reader->next()) {
        if (reader->fields().size() != columns) __builtin_trap();
        if (reader->line() <= lastLine) __builtin_trap(); // rows come in file order
        lastLine = reader->line();
        for (std::string_view field : reader->fields()) {
            volatile std::optional<double> number = tmk::parseCsvNumber(field);
            (void)number;
        }
    }
    if (reader->bytesDone() > reader->bytesTotal()) __builtin_trap();
    return 0;
}
