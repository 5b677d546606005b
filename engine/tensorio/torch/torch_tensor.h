// The bridge between torch-free tensor files (tastemaker/tensorio.h) and at::Tensor. Internal to the
// engine: it includes ATen, so only engine .cpp files (and engine tests) include it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"
#include "tastemaker/tensorio.h"

namespace tmk {

at::ScalarType toScalarType(DType dtype);
// Unsupported: every scalar type that safetensors/npy files here cannot hold (float64, complex, ...).
Expected<DType> fromScalarType(at::ScalarType type);

// An owning, contiguous CPU tensor holding a copy of `data` (which may be unaligned, e.g. mmap'ed, and
// may go away afterwards). `data` must hold numel(shape) * dtypeSize(dtype) bytes; otherwise this throws
// c10::Error (a bug in the caller: the readers validate sizes). Bool bytes other than 0 are read as true.
at::Tensor toTensor(std::span<const std::byte> data, DType dtype, const std::vector<int64_t>& shape);

// The tensor `name` of `checkpoint`; NotFound "<checkpoint>: tensor 'x' is missing" when absent.
Expected<at::Tensor> loadTensor(const SafetensorsCheckpoint& checkpoint, const std::string& name);

// A view of a contiguous CPU tensor for encodeSafetensors/writeSafetensors. The tensor must outlive the
// view. Throws c10::Error for a non-contiguous, non-CPU or unsupported-dtype tensor.
TensorView viewOf(const std::string& name, const at::Tensor& contiguousCpuTensor);

// Writes named tensors (any device, any layout: they are made contiguous CPU copies first) atomically.
Expected<void> saveTensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
    const std::map<std::string, std::string>& metadata = {});

// .npy <-> tensor. writeNpyTensor takes float32, float16, int64, int32, uint8 and bool tensors.
Expected<at::Tensor> readNpyTensor(const std::filesystem::path& path);
Expected<void> writeNpyTensor(const std::filesystem::path& path, const at::Tensor& tensor);

} // namespace tmk
