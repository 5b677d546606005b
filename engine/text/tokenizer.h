// T5Tokenizer: Hugging Face's slow T5Tokenizer (sentencepiece, legacy=True) as MusicGen uses it.
// Torch-free; the SentencePieceProcessor stays in tokenizer.cpp (pimpl). See CONVENTIONS.md §1.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

// Token ids of a batch of texts, padded on the right: ids and mask are row-major [batch, length].
struct TokenBatch {
    int64_t batch = 0, length = 0;
    std::vector<int64_t> ids; // [B, S], padding id 0
    std::vector<int64_t> mask; // [B, S], 1 for tokens, 0 for padding
};

// Immutable once loaded; copies share the model and may encode from several threads at once.
class T5Tokenizer {
public:
    static constexpr int64_t kPadId = 0;
    static constexpr int64_t kEosId = 1;
    static constexpr int64_t kUnkId = 2;
    static constexpr int64_t kExtraIdCount = 100; // <extra_id_0> .. <extra_id_99>

    // Loads a sentencepiece model (spiece.model). Any failure (missing, unreadable, not a sentencepiece
    // model, pieces 0/1/2 not <pad> </s> <unk>) is an error naming the file.
    static Expected<T5Tokenizer> load(const std::filesystem::path& spieceModel);

    // The ids of `text`: special tokens split out, each chunk encoded with its own dummy prefix, and </s>
    // appended unless the last id is already </s>. The empty string gives [1].
    std::vector<int64_t> encode(const std::string& text) const;
    // encode() of each text, padded on the right to the longest with id 0 and mask 0. No truncation.
    TokenBatch encodeBatch(const std::vector<std::string>& texts) const;

    int64_t pieceCount() const; // sentencepiece pieces (ids 0 .. pieceCount-1)
    int64_t vocabSize() const { return pieceCount() + kExtraIdCount; } // including the <extra_id_i>
    int64_t extraId(int64_t i) const { return pieceCount() + kExtraIdCount - 1 - i; }

private:
    struct Impl;
    explicit T5Tokenizer(std::shared_ptr<const Impl> impl)
        : m_impl(std::move(impl))
    {
    }
    std::shared_ptr<const Impl> m_impl;
};

} // namespace tmk
