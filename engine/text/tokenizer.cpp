// T5Tokenizer, following Hugging Face's slow T5Tokenizer with legacy=True (CONVENTIONS.md §1):
// split on literal special tokens, encode each remaining chunk with sentencepiece, append </s>.
#include "text/tokenizer.h"

#include <algorithm>
#include <array>
#include <sentencepiece_processor.h>
#include <string_view>

#include "tastemaker/fileio.h"

namespace tmk {

struct T5Tokenizer::Impl {
    sentencepiece::SentencePieceProcessor processor;
    int64_t pieceCount = 0;
};

namespace {

// Python's str.isspace() for one code point: what str.strip() removes.
bool isPythonSpace(char32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
        || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The code point encoded by the UTF-8 bytes `s` (one whole sequence); U+FFFD when malformed.
char32_t decodeUtf8(std::string_view s)
{
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    if (s.size() == 1 && byte(0) < 0x80) return byte(0);
    const size_t expected = byte(0) >= 0xF0 ? 4 : byte(0) >= 0xE0 ? 3 : byte(0) >= 0xC0 ? 2 : 0;
    if (expected == 0 || s.size() != expected) return 0xFFFD;
    char32_t c = byte(0) & (0x7F >> expected);
    for (size_t i = 1; i < expected; ++i) c = (c << 6) | (byte(i) & 0x3F);
    return c;
}

size_t utf8Length(unsigned char lead)
{
    if (lead < 0x80) return 1;
    if (lead >= 0xF0) return 4;
    if (lead >= 0xE0) return 3;
    return lead >= 0xC0 ? 2 : 1;
}

// Python's str.lstrip() / str.rstrip() on UTF-8 text.
void stripLeft(std::string& text)
{
    size_t start = 0;
    while (start < text.size()) {
        const size_t length = std::min(utf8Length(static_cast<unsigned char>(text[start])), text.size() - start);
        if (!isPythonSpace(decodeUtf8(std::string_view(text).substr(start, length)))) break;
        start += length;
    }
    text.erase(0, start);
}

void stripRight(std::string& text)
{
    size_t end = text.size();
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && end - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        if (!isPythonSpace(decodeUtf8(std::string_view(text).substr(start, end - start)))) break;
        end = start;
    }
    text.erase(end);
}

// A piece of the input: plain text to run through sentencepiece, or one literal special token.
struct Chunk {
    std::string text;
    int64_t specialId = -1; // >= 0 for a special token
    bool stripsNeighbours = false; // <extra_id_i> eats the whitespace beside it
};

struct SpecialMatch {
    size_t length = 0; // 0: no special token here
    int64_t id = -1;
    bool stripsNeighbours = false;
};

// `<extra_id_N>` at the start of `text` (N in 0..99, written as Python writes it), else no match.
SpecialMatch matchExtraId(std::string_view text, int64_t pieceCount)
{
    constexpr std::string_view prefix = "<extra_id_";
    if (!text.starts_with(prefix)) return {};
    size_t end = prefix.size();
    while (end < text.size() && end - prefix.size() < 3 && text[end] >= '0' && text[end] <= '9') ++end;
    const std::string_view digits = text.substr(prefix.size(), end - prefix.size());
    if (digits.empty() || end >= text.size() || text[end] != '>') return {};
    const int64_t index = std::stoll(std::string(digits));
    if (index >= T5Tokenizer::kExtraIdCount || std::to_string(index) != digits) return {};
    return { end + 1, pieceCount + T5Tokenizer::kExtraIdCount - 1 - index, true };
}

// The longest special token that starts at the beginning of `text`.
SpecialMatch matchSpecial(std::string_view text, int64_t pieceCount)
{
    if (text.empty() || text.front() != '<') return {};
    static constexpr std::array<std::pair<std::string_view, int64_t>, 3> kFixed { { { "</s>", T5Tokenizer::kEosId },
        { "<pad>", T5Tokenizer::kPadId }, { "<unk>", T5Tokenizer::kUnkId } } };
    SpecialMatch best = matchExtraId(text, pieceCount);
    for (const auto& [token, id] : kFixed)
        if (text.starts_with(token) && token.size() > best.length) best = { token.size(), id, false };
    return best;
}

// Splits `text` on special tokens (leftmost, longest first), then strips whitespace next to the
// tokens that ask for it, in order, as PreTrainedTokenizer.tokenize does.
std::vector<Chunk> splitOnSpecialTokens(const std::string& text, int64_t pieceCount)
{
    std::vector<Chunk> chunks;
    std::string plain;
    for (size_t pos = 0; pos < text.size();) {
        const SpecialMatch match = matchSpecial(std::string_view(text).substr(pos), pieceCount);
        if (match.length == 0) {
            plain += text[pos++];
            continue;
        }
        if (!plain.empty()) chunks.push_back(Chunk { std::move(plain) });
        plain.clear();
        chunks.push_back(Chunk { text.substr(pos, match.length), match.id, match.stripsNeighbours });
        pos += match.length;
    }
    if (!plain.empty()) chunks.push_back(Chunk { std::move(plain) });
    for (size_t i = 0; i < chunks.size(); ++i) {
        if (!chunks[i].stripsNeighbours) continue;
        if (i + 1 < chunks.size() && chunks[i + 1].specialId < 0) stripLeft(chunks[i + 1].text);
        if (i > 0 && chunks[i - 1].specialId < 0) stripRight(chunks[i - 1].text);
    }
    return chunks;
}

} // namespace

Expected<T5Tokenizer> T5Tokenizer::load(const std::filesystem::path& spieceModel)
{
    const std::string where = spieceModel.string();
    std::error_code ec;
    if (std::filesystem::is_directory(spieceModel, ec))
        return Error::inFile(ErrorCode::InvalidArgument, where, "is a folder, not a sentencepiece model file");
    if (!std::filesystem::is_regular_file(spieceModel, ec))
        return Error::inFile(ErrorCode::NotFound, where, "the sentencepiece model file is missing");
    Expected<std::string> bytes = readFileText(spieceModel);
    if (!bytes) return bytes.error();
    auto impl = std::make_shared<Impl>();
    const sentencepiece::util::Status status = impl->processor.LoadFromSerializedProto(*bytes);
    if (!status.ok()) {
        // sentencepiece reports a protobuf parse failure as its own source location; say it plainly.
        const std::string detail = status.error_message();
        const bool unparsable = detail.find("ParseFrom") != std::string::npos;
        return Error::inFile(ErrorCode::Format, where,
            unparsable ? "not a sentencepiece model (the protobuf does not parse)"
                       : "not a usable sentencepiece model (" + detail + ")");
    }
    impl->pieceCount = impl->processor.GetPieceSize();
    static constexpr std::array<std::pair<const char*, int64_t>, 3> kRequired { { { "<pad>", kPadId },
        { "</s>", kEosId }, { "<unk>", kUnkId } } };
    for (const auto& [piece, id] : kRequired) {
        if (id < impl->pieceCount && impl->processor.IdToPiece(static_cast<int>(id)) == piece) continue;
        return Error::inFile(ErrorCode::Mismatch, where,
            std::string("not a T5 sentencepiece model: piece ") + std::to_string(id) + " is not " + piece);
    }
    if (impl->processor.unk_id() != kUnkId)
        return Error::inFile(ErrorCode::Mismatch, where,
            "not a T5 sentencepiece model: unknown characters map to id " + std::to_string(impl->processor.unk_id())
                + ", not 2");
    return T5Tokenizer(std::move(impl));
}

int64_t T5Tokenizer::pieceCount() const
{
    return m_impl->pieceCount;
}

std::vector<int64_t> T5Tokenizer::encode(const std::string& text) const
{
    std::vector<int64_t> ids;
    std::vector<int> pieces;
    for (const Chunk& chunk : splitOnSpecialTokens(text, m_impl->pieceCount)) {
        if (chunk.specialId >= 0) {
            ids.push_back(chunk.specialId);
            continue;
        }
        if (chunk.text.empty()) continue;
        pieces.clear();
        // Encode fails only without a loaded model, which load() rules out.
        if (!m_impl->processor.Encode(chunk.text, &pieces).ok()) continue;
        ids.insert(ids.end(), pieces.begin(), pieces.end());
    }
    if (ids.empty() || ids.back() != kEosId) ids.push_back(kEosId);
    return ids;
}

TokenBatch T5Tokenizer::encodeBatch(const std::vector<std::string>& texts) const
{
    std::vector<std::vector<int64_t>> rows;
    rows.reserve(texts.size());
    TokenBatch batch;
    for (const std::string& text : texts) {
        rows.push_back(encode(text));
        batch.length = std::max(batch.length, static_cast<int64_t>(rows.back().size()));
    }
    batch.batch = static_cast<int64_t>(rows.size());
    batch.ids.assign(static_cast<size_t>(batch.batch * batch.length), kPadId);
    batch.mask.assign(batch.ids.size(), 0);
    for (size_t b = 0; b < rows.size(); ++b) {
        const size_t rowStart = b * static_cast<size_t>(batch.length);
        std::copy(rows[b].begin(), rows[b].end(), batch.ids.begin() + static_cast<std::ptrdiff_t>(rowStart));
        std::fill_n(batch.mask.begin() + static_cast<std::ptrdiff_t>(rowStart), rows[b].size(), 1);
    }
    return batch;
}

} // namespace tmk
