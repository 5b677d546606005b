#include "tensorio/torch/weights.h"

#include <cstdlib>
#include <sys/mman.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mul.h>
#include <c10/util/accumulate.h>

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

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

// An uninitialised weight tensor. On the CPU, a large one is 2 MiB-aligned and advised to use transparent huge
// pages: 512 times fewer page faults while it is filled, and fewer TLB misses while a step streams it.
at::Tensor emptyWeight(const std::vector<int64_t>& shape, const at::TensorOptions& options)
{
    const auto bytes = static_cast<size_t>(c10::multiply_integers(shape)) * options.dtype().itemsize();
    if (!options.device().is_cpu() || bytes < kHugePage) return at::empty(shape, options);
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* memory = nullptr;
    if (::posix_memalign(&memory, kHugePage, rounded) != 0) return at::empty(shape, options);
#ifdef MADV_HUGEPAGE
    ::madvise(memory, rounded, MADV_HUGEPAGE); // advice only: without THP it is ignored
#endif
    return at::from_blob(
        memory, shape, [](void* p) { std::free(p); }, options);
}

} // namespace

Expected<WeightStore> WeightStore::open(const std::filesystem::path& path, WeightResidence residence)
{
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(path);
    if (!checkpoint) return checkpoint.error();
    return WeightStore(std::move(*checkpoint), residence);
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
    const at::ScalarType stored = toScalarType(entry.info->dtype);
    const bool floating = at::isFloatingType(stored);
    at::TensorOptions target = options;
    if (!floating && !options.has_dtype()) target = target.dtype(stored);
    if (!floating && options.has_dtype() && at::isFloatingType(at::typeMetaToScalarType(options.dtype())))
        target = target.dtype(stored);

    // Zero copy where the file's mapping allows it: a tensor over the mapped bytes. It is the result when the
    // dtype and device already match (the pages are faulted in now); otherwise it is converted in one pass
    // into the result, and its pages leave the process's memory when the view dies, so a checkpoint is
    // never held twice.
    std::shared_ptr<std::byte> lease = entry.file->lease(*entry.info);
    const auto element = static_cast<uintptr_t>(dtypeSize(entry.info->dtype));
    const bool mappable = lease && entry.info->dtype != DType::Bool && entry.info->nbytes > 0
        && reinterpret_cast<uintptr_t>(lease.get()) % element == 0;
    if (!mappable) {
        lease.reset();
        return toTensor(entry.data(), entry.info->dtype, entry.info->shape).to(target).contiguous();
    }
    std::byte* data = lease.get();
    at::Tensor view = at::from_blob(
        data, entry.info->shape, [lease = std::move(lease)](void*) mutable { lease.reset(); },
        at::TensorOptions().dtype(stored).device(at::kCPU));
    entry.file->prefault(*entry.info); // one call maps the pages: far cheaper than a fault per page
    const bool sameDevice = !target.has_device() || target.device().is_cpu();
    const bool sameDtype = !target.has_dtype() || at::typeMetaToScalarType(target.dtype()) == stored;
    if (sameDevice && sameDtype && m_residence == WeightResidence::Mapped) return view;
    at::Tensor result = emptyWeight(entry.info->shape,
        (target.has_dtype() ? target : target.dtype(stored))
            .device(target.has_device() ? target.device() : at::Device(at::kCPU)));
    result.copy_(view);
    return result; // the view, and with it the lease on the source pages, ends here
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
    const at::Tensor scale = *g / v->pow(2).sum(dims, /*keepdim=*/true).sqrt(); // [out, 1, ...]
    at::Tensor weight = emptyWeight(shape, at::TensorOptions(options).dtype(at::kFloat).device(at::kCPU));
    at::mul_out(weight, *v, scale); // one pass over v, into the result
    return weight.to(options).contiguous();
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
