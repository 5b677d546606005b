// `inspect`: list the tensors of a safetensors file or checkpoint folder, or describe an .npy array.
#include <iostream>

#include "commands.h"
#include "tastemaker/tensorio.h"

namespace tmk::cli {

namespace {

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

int inspectNpy(const std::string& path)
{
    Expected<NpyArray> array = readNpy(path);
    if (!array) return reportError(array.error());
    std::cout << path << ": " << dtypeName(array->dtype) << " " << shapeText(array->shape) << "\n";
    return kExitOk;
}

int inspectSafetensors(const std::string& path)
{
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(path);
    if (!checkpoint) return reportError(checkpoint.error());
    uint64_t bytes = 0;
    const std::vector<std::string> names = checkpoint->names();
    for (const std::string& name : names) {
        const TensorInfo& info = *checkpoint->find(name).info;
        std::cout << name << "\t" << dtypeName(info.dtype) << "\t" << shapeText(info.shape) << "\n";
        bytes += info.nbytes;
    }
    std::cout << names.size() << " tensors, " << bytes << " bytes in " << checkpoint->files().size() << " file(s)\n";
    return kExitOk;
}

} // namespace

Command inspectCommand()
{
    Command command;
    command.name = "inspect";
    command.summary = "List the tensors of a .safetensors file or checkpoint folder, or describe an .npy file.";
    command.positional = { "PATH" };
    command.minPositional = 1;
    command.run = [](const Args& args) {
        const std::string& path = args.positional().front();
        return path.ends_with(".npy") ? inspectNpy(path) : inspectSafetensors(path);
    };
    return command;
}

} // namespace tmk::cli
