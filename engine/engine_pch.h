// Precompiled header of tm_engine (see engine/CMakeLists.txt). Only engine .cpp files see it.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>
