#include "tensorio/torch/torch_tensor.h"

#include <cstring>

#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>

namespace tmk {

namespace {

std::span<const std::byte> bytesOf(const at::Tensor& contiguousCpuTensor)
{
    return { static_cast<const std::byte*>(contiguousCpuTensor.data_ptr()),
        static_cast<size_t>(contiguousCpuTensor.numel()) * contiguousCpuTensor.element_size() };
}

} // namespace

at::ScalarType toScalarType(DType dtype)
{
    switch (dtype) {
    case DType::F32:
        return at::kFloat;
    case DType::F16:
        return at::kHalf;
    case DType::BF16:
        return at::kBFloat16;
    case DType::I64:
        return at::kLong;
    case DType::I32:
        return at::kInt;
    case DType::U8:
        return at::kByte;
    case DType::Bool:
        return at::kBool;
    }
    return at::kFloat;
}

Expected<DType> fromScalarType(at::ScalarType type)
{
    switch (type) {
    case at::kFloat:
        return DType::F32;
    case at::kHalf:
        return DType::F16;
    case at::kBFloat16:
        return DType::BF16;
    case at::kLong:
        return DType::I64;
    case at::kInt:
        return DType::I32;
    case at::kByte:
        return DType::U8;
    case at::kBool:
        return DType::Bool;
    default:
        return Error { ErrorCode::Unsupported,
            std::string("Tensors of type ") + c10::toString(type) + " cannot be stored in tensor files." };
    }
}

at::Tensor toTensor(std::span<const std::byte> data, DType dtype, const std::vector<int64_t>& shape)
{
    at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(toScalarType(dtype)).device(at::kCPU));
    const size_t nbytes = static_cast<size_t>(tensor.numel()) * dtypeSize(dtype);
    TORCH_CHECK(data.size() == nbytes, "toTensor: ", data.size(), " bytes given for a tensor of ", nbytes, " bytes");
    if (nbytes == 0) return tensor;
    if (dtype == DType::Bool) {
        auto* out = static_cast<uint8_t*>(tensor.data_ptr());
        for (size_t i = 0; i < nbytes; ++i) out[i] = data[i] != std::byte { 0 } ? 1 : 0;
    } else {
        std::memcpy(tensor.data_ptr(), data.data(), nbytes); // memcpy: the source may be unaligned
    }
    return tensor;
}

Expected<at::Tensor> loadTensor(const SafetensorsCheckpoint& checkpoint, const std::string& name)
{
    const SafetensorsCheckpoint::Entry entry = checkpoint.find(name);
    if (!entry.file)
        return Error::inFile(ErrorCode::NotFound, checkpoint.description(), "tensor '" + name + "' is missing");
    return toTensor(entry.data(), entry.info->dtype, entry.info->shape);
}

TensorView viewOf(const std::string& name, const at::Tensor& contiguousCpuTensor)
{
    const at::Tensor& tensor = contiguousCpuTensor;
    TORCH_CHECK(tensor.device().is_cpu(), "viewOf: tensor '", name, "' is not on the CPU");
    TORCH_CHECK(tensor.is_contiguous(), "viewOf: tensor '", name, "' is not contiguous");
    Expected<DType> dtype = fromScalarType(tensor.scalar_type());
    TORCH_CHECK(dtype.ok(), "viewOf: tensor '", name, "' has unsupported type ", c10::toString(tensor.scalar_type()));
    TensorView view;
    view.name = name;
    view.dtype = *dtype;
    view.shape = tensor.sizes().vec();
    view.data = bytesOf(tensor);
    return view;
}

Expected<void> saveTensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
    const std::map<std::string, std::string>& metadata)
{
    std::vector<at::Tensor> contiguous; // keeps the copies alive while the views are written
    std::vector<TensorView> views;
    contiguous.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
        Expected<DType> dtype = fromScalarType(tensor.scalar_type());
        if (!dtype)
            return Error::inFile(ErrorCode::Unsupported, path.string(),
                "cannot be written: tensor '" + name + "' has unsupported type " + c10::toString(tensor.scalar_type()));
        contiguous.push_back(tensor.detach().to(at::kCPU).contiguous());
        views.push_back(viewOf(name, contiguous.back()));
    }
    return writeSafetensors(path, views, metadata);
}

Expected<at::Tensor> readNpyTensor(const std::filesystem::path& path)
{
    Expected<NpyArray> array = readNpy(path);
    if (!array) return array.error();
    return toTensor(array->data, array->dtype, array->shape);
}

Expected<void> writeNpyTensor(const std::filesystem::path& path, const at::Tensor& tensor)
{
    Expected<DType> dtype = fromScalarType(tensor.scalar_type());
    if (!dtype)
        return Error::inFile(ErrorCode::Unsupported, path.string(),
            std::string("cannot be written: tensors of type ") + c10::toString(tensor.scalar_type())
                + " have no .npy dtype here");
    const at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    return writeNpy(path, *dtype, cpu.sizes().vec(), bytesOf(cpu));
}

} // namespace tmk
