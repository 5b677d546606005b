// One tensor of a fixture case file as an owning CPU tensor (for tests that link the engine).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include <ATen/core/Tensor.h>

#include "tastemaker/tensorio.h"
#include "tensorio/torch/torch_tensor.h"

namespace tmk::test {

// Throws std::runtime_error (which fails the running test) when the file or tensor is missing.
inline at::Tensor fixtureTensor(const std::filesystem::path& file, const std::string& name)
{
    Expected<SafetensorsFile> opened = SafetensorsFile::open(file);
    if (!opened) throw std::runtime_error(opened.error().message);
    const TensorInfo* info = opened->find(name);
    if (!info) throw std::runtime_error(file.string() + ": no tensor " + name);
    return toTensor(opened->data(*info), info->dtype, info->shape);
}

} // namespace tmk::test
