// Tensor files without torch: safetensors (memory-mapped read, sharded checkpoints, atomic write) and
// NumPy .npy (int64/float32 read and write). The engine turns these views into tensors internally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

enum class DType { F32, F16, BF16, I64, I32, U8, Bool };

const char* dtypeName(DType dtype); // safetensors spelling: "F32", "BF16", ...
size_t dtypeSize(DType dtype);
bool parseDType(const std::string& name, DType* out);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t offset = 0; // from the start of the data section
    uint64_t nbytes = 0;
    int64_t numel() const;
};

// A parsed, validated safetensors file. The header is checked completely when it opens: length,
// JSON, dtypes, shapes against byte ranges, ranges in bounds and not overlapping. Data stays
// memory-mapped (or, for fromBuffer, borrowed) and is read through data().
class SafetensorsFile {
public:
    static Expected<SafetensorsFile> open(const std::filesystem::path& path);
    // Parses bytes that the caller keeps alive (fuzzers, tests). `name` appears in error messages.
    static Expected<SafetensorsFile> fromBuffer(std::span<const std::byte> bytes, const std::string& name);

    SafetensorsFile(SafetensorsFile&&) noexcept;
    SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
    ~SafetensorsFile();

    const std::string& name() const; // the path, as given
    const std::vector<TensorInfo>& tensors() const; // in file order of offsets
    const TensorInfo* find(const std::string& tensorName) const;
    std::span<const std::byte> data(const TensorInfo& info) const;
    const std::map<std::string, std::string>& metadata() const;

    // Zero-copy access for the engine's weight loader. A lease on the bytes of `info` (one of tensors())
    // in the file's copy-on-write mapping: the pointer is the tensor's first byte and may be written (the
    // change stays in this process, never reaches the file). The mapping lives while any lease does, even
    // after this object is gone; when the last lease on a tensor ends, its pages leave the process's
    // resident memory. Null for fromBuffer files.
    std::shared_ptr<std::byte> lease(const TensorInfo& info) const;
    // Maps the pages of `info` now, so loading rather than first use pays for it; nothing for fromBuffer.
    void prefault(const TensorInfo& info) const;

private:
    struct Impl;
    explicit SafetensorsFile(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// A checkpoint made of one safetensors file, or of the shards listed in model.safetensors.index.json.
class SafetensorsCheckpoint {
public:
    // `path` is a .safetensors file, an index .json, or a folder holding model.safetensors or
    // model.safetensors.index.json.
    static Expected<SafetensorsCheckpoint> open(const std::filesystem::path& path);

    struct Entry {
        const SafetensorsFile* file = nullptr;
        const TensorInfo* info = nullptr;
        std::span<const std::byte> data() const { return file->data(*info); }
    };
    // nullopt-like: entry.file == nullptr when missing.
    Entry find(const std::string& tensorName) const;
    bool contains(const std::string& tensorName) const { return find(tensorName).file != nullptr; }
    std::vector<std::string> names() const; // sorted
    const std::vector<SafetensorsFile>& files() const { return m_files; }
    const std::string& description() const { return m_description; } // for error messages

private:
    Expected<void> loadShards(
        const std::filesystem::path& indexPath, const std::map<std::string, std::string>& weightMap);

    std::vector<SafetensorsFile> m_files;
    std::map<std::string, std::pair<size_t, size_t>> m_index; // name -> (file, tensor)
    std::string m_description;
};

// A borrowed tensor for writing.
struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    std::span<const std::byte> data;
};

// Rewrites the checkpoint at `in` (a file, an index or a folder) as one safetensors file `outFile`, written
// atomically, with its floating matrices (2 or more dimensions) in `dtype` (F32 or BF16; to bfloat16 by
// rounding to nearest, ties to even, as libtorch does, so a bf16 model loaded from either file holds the
// same bits). Vectors (norms, biases), integer tensors and every tensor whose name starts with one of
// `keepPrefixes` are copied as they are. The metadata is kept, plus "tastemaker_dtype".
struct ConvertStats {
    int tensorsConverted = 0;
    uint64_t bytesIn = 0, bytesOut = 0; // tensor data
};
Expected<ConvertStats> convertCheckpoint(const std::filesystem::path& in, const std::filesystem::path& outFile,
    DType dtype, const std::vector<std::string>& keepPrefixes = {});

// Writes the checkpoint of the MusicGen folder `modelDir` as one safetensors file `outFile` (atomically), with
// its EnCodec decoder (audio_encoder.decoder.*) taken from `codecDir` (a train-codec codec folder or another
// model folder). Every other audio_encoder.* tensor of the codec (the encoder and the quantizer's codebooks)
// must be byte-identical to the model's, so that songs encode to the same codes and the language model and any
// adapters trained on them stay valid: a codec trained with `train-codec --decoder-only --init-from` the
// model. The first differing tensor, or one missing or of another shape, is named in the error. The model's
// metadata is kept.
struct CodecSwapStats {
    int decoderTensors = 0, decoderTensorsChanged = 0;
};
Expected<CodecSwapStats> replaceCodecDecoder(
    const std::filesystem::path& modelDir, const std::filesystem::path& codecDir, const std::filesystem::path& outFile);

// Serialises tensors (sorted by name, like the Hugging Face writer) plus string metadata.
Expected<std::vector<std::byte>> encodeSafetensors(
    const std::vector<TensorView>& tensors, const std::map<std::string, std::string>& metadata = {});
// Writes atomically (temp file, fsync, rename).
Expected<void> writeSafetensors(const std::filesystem::path& path, const std::vector<TensorView>& tensors,
    const std::map<std::string, std::string>& metadata = {});

// NumPy .npy, versions 1.0-3.0, little-endian, C order: '<f4' (F32), '<f2' (F16), '<i8' (I64),
// '<i4' (I32), '|u1' (U8) and '|b1' (Bool); BF16 has no .npy dtype. Big-endian data, Fortran order
// (with more than one dimension), structured and object arrays are refused; nothing is ever unpickled.
struct NpyArray {
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    std::vector<std::byte> data;
    int64_t numel() const;
    template <typename T> std::span<const T> as() const
    {
        return { reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T) };
    }
};

Expected<NpyArray> parseNpy(std::span<const std::byte> bytes, const std::string& name);
Expected<NpyArray> readNpy(const std::filesystem::path& path);
// The bytes numpy's np.save would write (format 1.0, header padded to 64 bytes). Returns an empty vector
// (never a valid file) when `data` does not hold shape * dtype bytes or the dtype has no .npy spelling;
// writeNpy reports those as errors.
std::vector<std::byte> encodeNpy(DType dtype, const std::vector<int64_t>& shape, std::span<const std::byte> data);
Expected<void> writeNpy(
    const std::filesystem::path& path, DType dtype, const std::vector<int64_t>& shape, std::span<const std::byte> data);

} // namespace tmk
