// Precompiled header shared by every GoogleTest executable (tests/CMakeLists.txt): the heavy headers most
// tests include. A test still includes what it uses; this only makes the cold CI build faster.
#pragma once
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
