// WeightStore: typed, checked access to a checkpoint's tensors for the model loaders. Every get()
// checks presence and shape against what the config implies, and names the tensor when they disagree.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/tensorio.h"

namespace tmk {

// How get() hands out tensors whose file dtype and device already match: in place over the file's
// copy-on-write mapping (fast, no second copy), or as copies (for trainers, which change every weight and
// replace the very file they read).
enum class WeightResidence { Mapped, Copied };

class WeightStore {
public:
    // `path`: a checkpoint folder (model.safetensors or its sharded index) or a .safetensors file.
    static Expected<WeightStore> open(
        const std::filesystem::path& path, WeightResidence residence = WeightResidence::Mapped);

    bool contains(const std::string& name) const { return m_checkpoint.contains(name); }

    // The tensor `name`, checked to have `shape`, converted to `options` (dtype and device).
    // Floating tensors take options' dtype; integer tensors keep theirs unless options asks for one.
    // Where the file's dtype and the device already match, the result uses the memory-mapped bytes in place
    // (copy-on-write: writes stay in this process) and keeps the mapping alive; otherwise it is a converted
    // copy made in one pass, and the source pages are released as soon as it is made.
    Expected<at::Tensor> get(
        const std::string& name, const std::vector<int64_t>& shape, const at::TensorOptions& options);
    // The first of `names` that exists (for tied or renamed tensors); the error lists them all.
    Expected<at::Tensor> getAny(
        const std::vector<std::string>& names, const std::vector<int64_t>& shape, const at::TensorOptions& options);
    // A weight-normalised convolution weight `prefix.weight`, from either naming:
    // prefix.weight_g / prefix.weight_v, or prefix.parametrizations.weight.original0 / original1,
    // or a plain prefix.weight. The result is g * v / ||v||, the norm over all dims but 0.
    Expected<at::Tensor> getWeightNorm(
        const std::string& prefix, const std::vector<int64_t>& shape, const at::TensorOptions& options);

    // Names never requested through get*, sorted: a checkpoint with tensors the model does not use.
    std::vector<std::string> unusedNames() const;
    const std::string& description() const { return m_checkpoint.description(); }
    // A metadata value of the first file ("" when absent).
    std::string metadataValue(const std::string& key) const;

private:
    WeightStore(SafetensorsCheckpoint checkpoint, WeightResidence residence)
        : m_checkpoint(std::move(checkpoint))
        , m_residence(residence)
    {
    }
    SafetensorsCheckpoint m_checkpoint;
    WeightResidence m_residence = WeightResidence::Mapped;
    std::set<std::string> m_used;
};

std::string shapeString(const std::vector<int64_t>& shape);
std::string shapeString(at::IntArrayRef shape);

} // namespace tmk
