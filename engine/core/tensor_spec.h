// The tensors a model part loads: canonical Hugging Face name, shape and how a random-weight test model
// initialises it. Loaders use the list to check completeness; `tastemaker-cli make-model` writes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tmk {

enum class TensorInit {
    Normal, // N(0, std) with std = 1/sqrt(fan_in) (fan_in = product of all dims but the first)
    Ones, // norm weights
    Zeros, // biases
    WeightNormG, // weight-norm magnitudes: positive, around 1
    Sinusoidal, // MusicGen's sinusoidal position table (cos first)
    Codebook, // EnCodec codebook vectors
};

struct TensorSpec {
    std::string name;
    std::vector<int64_t> shape;
    TensorInit init = TensorInit::Normal;
};

} // namespace tmk
