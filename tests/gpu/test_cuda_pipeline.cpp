// CUDA: the fixture's greedy CFG generation on the GPU (f32 identical codes; bf16/f16 run and stay
// in range). Skips cleanly when this build's libtorch has no CUDA or no GPU is present (as in CI).
#include <cmath>
#include <cstring>
#include <gtest/gtest.h>

#include "tastemaker/musicgen.h"
#include "tastemaker/runtime.h"
#include "tastemaker/tensorio.h"
#include "testsupport.h"

using namespace tmk;

namespace {

std::filesystem::path fixtureDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}

std::vector<int64_t> expectedCodes()
{
    return test::tensorValues<int64_t>(fixtureDir() / "cases" / "generate_greedy.safetensors", "audio_codes");
}

GenerationRequest greedy()
{
    GenerationRequest request;
    request.prompts = { "Classic Rock, Electric guitar, keyboard, drums", "lofi hip hop with soft piano" };
    request.frames = 17;
    request.sampling.greedy = true;
    return request;
}

} // namespace

TEST(CudaPipeline, GreedyCodesMatchOnTheGpu)
{
    if (!runtimeInfo().cudaAvailable) GTEST_SKIP() << "no CUDA in this libtorch build or no GPU present";
    auto model = MusicgenModel::load(fixtureDir(), ModelOptions { DeviceKind::Cuda, ComputeDType::F32 });
    ASSERT_TRUE(model) << model.error().message;
    auto result = generate(**model, greedy());
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->codes.values, expectedCodes());
}

TEST(CudaPipeline, HalfPrecisionRuns)
{
    if (!runtimeInfo().cudaAvailable) GTEST_SKIP() << "no CUDA in this libtorch build or no GPU present";
    for (ComputeDType dtype : { ComputeDType::BF16, ComputeDType::F16 }) {
        auto model = MusicgenModel::load(fixtureDir(), ModelOptions { DeviceKind::Cuda, dtype });
        ASSERT_TRUE(model) << model.error().message;
        GenerationRequest request = GenerationRequest::defaultsFor((*model)->info());
        request.prompts = { "jazz" };
        request.frames = 20;
        request.sampling.seed = 3;
        auto result = generate(**model, request);
        ASSERT_TRUE(result) << result.error().message;
        for (int64_t code : result->codes.values) ASSERT_TRUE(code >= 0 && code < 64);
        for (float sample : result->audio.at(0)) ASSERT_TRUE(std::isfinite(sample));
    }
}

TEST(CudaPipeline, CudaRequestWithoutGpuIsAClearError)
{
    if (runtimeInfo().cudaAvailable) GTEST_SKIP() << "a GPU is present";
    auto model = MusicgenModel::load(fixtureDir(), ModelOptions { DeviceKind::Cuda, ComputeDType::F32 });
    ASSERT_FALSE(model);
    EXPECT_EQ(model.error().code, ErrorCode::Device);
    EXPECT_NE(model.error().message.find("--device cpu"), std::string::npos);
}
