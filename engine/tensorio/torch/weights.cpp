#include "tensorio/torch/weights.h"

#include <ATen/TensorOperators.h>

#include "tensorio/torch/torch_tensor.h"

namespace tmk {

std::string shapeString(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::string shapeString(at::IntArrayRef shape)
{
    return shapeString(std::vector<int64_t>(shape.begin(), shape.end()));
}

Expected<WeightStore> WeightStore::open(const std::filesystem::path& path)
{
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(path);
    if (!checkpoint) return checkpoint.error();
    return WeightStore(std::move(*checkpoint));
}

Expected<at::Tensor> WeightStore::get(
    const std::string& name, const std::vector<int64_t>& shape, const at::TensorOptions& options)
{
    SafetensorsCheckpoint::Entry entry = m_checkpoint.find(name);
    if (!entry.file)
        return Error::inFile(ErrorCode::NotFound, m_checkpoint.description(), "tensor '" + name + "' is missing");
    m_used.insert(name);
    if (entry.info->shape != shape)
        return Error::inFile(ErrorCode::Mismatch, entry.file->name(),
            "tensor '" + name + "' has shape " + shapeString(entry.info->shape) + " but config.json implies "
                + shapeString(shape));
    at::Tensor tensor = toTensor(entry.data(), entry.info->dtype, entry.info->shape);
    const bool floating = at::isFloatingType(tensor.scalar_type());
    at::TensorOptions target = options;
    if (!floating && !options.has_dtype()) target = target.dtype(tensor.scalar_type());
    if (!floating && options.has_dtype() && at::isFloatingType(at::typeMetaToScalarType(options.dtype())))
        target = target.dtype(tensor.scalar_type());
    return tensor.to(target).contiguous();
}

Expected<at::Tensor> WeightStore::getAny(
    const std::vector<std::string>& names, const std::vector<int64_t>& shape, const at::TensorOptions& options)
{
    for (const std::string& name : names)
        if (m_checkpoint.contains(name)) return get(name, shape, options);
    std::string list;
    for (const std::string& name : names) list += (list.empty() ? "'" : " or '") + name + "'";
    return Error::inFile(ErrorCode::NotFound, m_checkpoint.description(), "tensor " + list + " is missing");
}

Expected<at::Tensor> WeightStore::getWeightNorm(
    const std::string& prefix, const std::vector<int64_t>& shape, const at::TensorOptions& options)
{
    std::vector<int64_t> gShape(shape.size(), 1);
    gShape[0] = shape[0];
    std::string gName = prefix + ".weight_g", vName = prefix + ".weight_v";
    if (!contains(gName) && contains(prefix + ".parametrizations.weight.original0")) {
        gName = prefix + ".parametrizations.weight.original0";
        vName = prefix + ".parametrizations.weight.original1";
    }
    if (!contains(gName) && contains(prefix + ".weight")) return get(prefix + ".weight", shape, options);
    const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
    Expected<at::Tensor> g = get(gName, gShape, f32);
    if (!g) return g.error();
    Expected<at::Tensor> v = get(vName, shape, f32);
    if (!v) return v.error();
    std::vector<int64_t> dims;
    for (int64_t d = 1; d < static_cast<int64_t>(shape.size()); ++d) dims.push_back(d);
    at::Tensor norm = v->pow(2).sum(dims, /*keepdim=*/true).sqrt();
    return (*g * *v / norm).to(options).contiguous();
}

std::string WeightStore::metadataValue(const std::string& key) const
{
    if (m_checkpoint.files().empty()) return {};
    const auto& metadata = m_checkpoint.files().front().metadata();
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
}

std::vector<std::string> WeightStore::unusedNames() const
{
    std::vector<std::string> unused;
    for (const std::string& name : m_checkpoint.names())
        if (!m_used.count(name)) unused.push_back(name);
    return unused;
}

} // namespace tmk
