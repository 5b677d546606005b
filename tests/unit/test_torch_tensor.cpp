// The torch bridge: at::Tensor -> safetensors / .npy -> at::Tensor is exact for every supported dtype.
#include <cstring>
#include <gtest/gtest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/full.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

void expectSameTensor(const at::Tensor& actual, const at::Tensor& expected, const std::string& name)
{
    EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << name;
    EXPECT_EQ(actual.sizes(), expected.sizes()) << name;
    EXPECT_TRUE(actual.is_contiguous()) << name;
    EXPECT_TRUE(actual.device().is_cpu()) << name;
    EXPECT_TRUE(at::equal(actual, expected)) << name;
}

TEST(TorchTensor, ScalarTypesMapBothWays)
{
    for (DType dtype : { DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::U8, DType::Bool }) {
        Expected<DType> back = fromScalarType(toScalarType(dtype));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, dtype);
        EXPECT_EQ(at::elementSize(toScalarType(dtype)), static_cast<int64_t>(dtypeSize(dtype)));
    }
    Expected<DType> f64 = fromScalarType(at::kDouble);
    ASSERT_FALSE(f64);
    EXPECT_EQ(f64.error().code, ErrorCode::Unsupported);
}

TEST(TorchTensor, SafetensorsRoundTripIsExact)
{
    at::manual_seed(7);
    const std::map<std::string, at::Tensor> tensors = {
        { "f32", at::randn({ 3, 4 }) }, { "bf16", at::randn({ 2, 5 }).to(at::kBFloat16) },
        { "f16", at::randn({ 7 }).to(at::kHalf) }, { "i64", at::arange(-5, 19, at::kLong).reshape({ 2, 3, 4 }) },
        { "i32", at::arange(6, at::kInt) }, { "u8", at::arange(250, 256).to(at::kByte) },
        { "bool", at::tensor({ 1, 0, 1 }).to(at::kBool) }, { "scalar", at::scalar_tensor(3.5) },
        { "empty", at::zeros({ 0, 3 }) },
        { "transposed", at::arange(12, at::kFloat).reshape({ 3, 4 }).t() }, // written as a contiguous copy
    };
    const fs::path path = test::freshOutDir("torch_tensor_roundtrip") / "t.safetensors";
    ASSERT_TRUE(saveTensors(path, tensors, { { "format", "pt" } }));

    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(path);
    ASSERT_TRUE(checkpoint) << checkpoint.error().message;
    EXPECT_EQ(checkpoint->find("bf16").info->dtype, DType::BF16);
    for (const auto& [name, expected] : tensors) {
        Expected<at::Tensor> loaded = loadTensor(*checkpoint, name);
        ASSERT_TRUE(loaded) << loaded.error().message;
        expectSameTensor(*loaded, expected, name);
    }
    Expected<at::Tensor> missing = loadTensor(*checkpoint, "decoder.nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_EQ(missing.error().message, path.string() + ": tensor 'decoder.nope' is missing");
}

TEST(TorchTensor, ViewsWriteThroughEncodeSafetensors)
{
    const at::Tensor weights = at::randn({ 4, 2 }).to(at::kBFloat16);
    Expected<std::vector<std::byte>> bytes = encodeSafetensors({ viewOf("w", weights) });
    ASSERT_TRUE(bytes);
    Expected<SafetensorsFile> file = SafetensorsFile::fromBuffer(*bytes, "memory");
    ASSERT_TRUE(file) << file.error().message;
    const TensorInfo* info = file->find("w");
    ASSERT_NE(info, nullptr);
    expectSameTensor(toTensor(file->data(*info), info->dtype, info->shape), weights, "w");

    EXPECT_THROW(viewOf("t", at::randn({ 3, 4 }).t()), c10::Error);
    EXPECT_THROW(viewOf("d", at::randn({ 3 }, at::kDouble)), c10::Error);
}

TEST(TorchTensor, ToTensorCopiesUnalignedData)
{
    const std::vector<float> values = { 1.25f, -2.5f, 1e30f };
    std::vector<std::byte> buffer(1 + sizeof(float) * values.size());
    std::memcpy(buffer.data() + 1, values.data(), sizeof(float) * values.size());
    at::Tensor tensor = toTensor(std::span<const std::byte>(buffer).subspan(1), DType::F32, { 3 });
    buffer.assign(buffer.size(), std::byte { 0 }); // the tensor owns its copy
    expectSameTensor(tensor, at::tensor({ 1.25f, -2.5f, 1e30f }), "unaligned");

    const std::vector<uint8_t> flags = { 0, 1, 2, 255 };
    expectSameTensor(toTensor(std::as_bytes(std::span<const uint8_t>(flags)), DType::Bool, { 2, 2 }),
        at::tensor({ 0, 1, 1, 1 }).to(at::kBool).reshape({ 2, 2 }), "bool");
    EXPECT_THROW(toTensor(std::span<const std::byte>(buffer).first(4), DType::F32, { 3 }), c10::Error);
}

TEST(TorchTensor, NpyRoundTrip)
{
    const fs::path dir = test::freshOutDir("torch_tensor_npy");
    const at::Tensor codes = at::randint(0, 2048, { 2, 4, 17 }, at::kLong);
    ASSERT_TRUE(writeNpyTensor(dir / "codes.npy", codes));
    Expected<at::Tensor> readCodes = readNpyTensor(dir / "codes.npy");
    ASSERT_TRUE(readCodes) << readCodes.error().message;
    expectSameTensor(*readCodes, codes, "codes");

    for (const at::Tensor& audio :
        { at::randn({ 1, 1, 100 }), at::randn({ 5 }), at::scalar_tensor(0.5f), at::randn({ 3, 2 }).t() }) {
        ASSERT_TRUE(writeNpyTensor(dir / "audio.npy", audio));
        Expected<at::Tensor> read = readNpyTensor(dir / "audio.npy");
        ASSERT_TRUE(read) << read.error().message;
        expectSameTensor(*read, audio.contiguous(), "audio");
    }

    Expected<void> f64 = writeNpyTensor(dir / "f64.npy", at::randn({ 2 }, at::kDouble));
    ASSERT_FALSE(f64);
    EXPECT_NE(f64.error().message.find("f64.npy: cannot be written"), std::string::npos);
    Expected<at::Tensor> missing = readNpyTensor(dir / "missing.npy");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST(TorchTensor, LoadsTheHuggingFaceFixture)
{
    const fs::path folder = test::dataDir() / "musicgen-tiny-public";
    if (!fs::exists(folder / "model.safetensors")) GTEST_SKIP() << "fixture missing: " << folder;
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(folder);
    ASSERT_TRUE(checkpoint) << checkpoint.error().message;
    Expected<at::Tensor> shared = loadTensor(*checkpoint, "text_encoder.shared.weight");
    ASSERT_TRUE(shared) << shared.error().message;
    EXPECT_EQ(shared->sizes(), (at::IntArrayRef { 384, 32 }));
    EXPECT_EQ(shared->scalar_type(), at::kFloat);
    EXPECT_TRUE(at::isfinite(*shared).all().item<bool>());
}

} // namespace
} // namespace tmk

namespace tmk {
namespace {

// WeightStore uses the mapped file in place where the dtype matches (two requests share the bytes), converts
// in one pass where it does not, copies unaligned tensors, and a write into a weight used in place stays in
// this process: the file and a fresh store read the original values.
TEST(TorchTensor, MappedWeightsAreUsedInPlaceAndWritesNeverReachTheFile)
{
    at::manual_seed(3);
    const at::Tensor weight = at::randn({ 64, 64 });
    const at::Tensor half = at::randn({ 8 }).to(at::kBFloat16);
    const at::Tensor odd = at::randn({ 5 }); // after 3 + 16 bytes: unaligned in the file
    const fs::path path = test::freshOutDir("weight_store_mapped") / "w.safetensors";
    ASSERT_TRUE(saveTensors(
        path, { { "a_w", weight }, { "b_flags", at::arange(3).to(at::kByte) }, { "c_half", half }, { "d_odd", odd } }));
    Expected<std::string> before = readFileText(path);
    ASSERT_TRUE(before);

    const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
    {
        Expected<WeightStore> store = WeightStore::open(path);
        ASSERT_TRUE(store) << store.error().message;
        Expected<at::Tensor> first = store->get("a_w", { 64, 64 }, f32);
        Expected<at::Tensor> second = store->get("a_w", { 64, 64 }, f32);
        ASSERT_TRUE(first && second);
        expectSameTensor(*first, weight, "w in place");
        EXPECT_EQ(first->data_ptr(), second->data_ptr()); // both are the mapped bytes
        Expected<at::Tensor> converted = store->get("a_w", { 64, 64 }, f32.dtype(at::kBFloat16));
        ASSERT_TRUE(converted);
        expectSameTensor(*converted, weight.to(at::kBFloat16), "w as bf16");
        Expected<at::Tensor> widened = store->get("c_half", { 8 }, f32);
        ASSERT_TRUE(widened);
        expectSameTensor(*widened, half.to(at::kFloat), "bf16 as f32");
        Expected<at::Tensor> unaligned = store->get("d_odd", { 5 }, f32);
        ASSERT_TRUE(unaligned);
        expectSameTensor(*unaligned, odd, "unaligned");

        first->fill_(7.0f); // copy-on-write: this process only
        EXPECT_TRUE(at::equal(*second, at::full({ 64, 64 }, 7.0f)));
    }
    Expected<std::string> after = readFileText(path);
    ASSERT_TRUE(after);
    EXPECT_TRUE(*before == *after) << "a write into a mapped weight reached the file";
    Expected<WeightStore> fresh = WeightStore::open(path, WeightResidence::Copied);
    ASSERT_TRUE(fresh);
    Expected<at::Tensor> a = fresh->get("a_w", { 64, 64 }, f32), b = fresh->get("a_w", { 64, 64 }, f32);
    ASSERT_TRUE(a && b);
    expectSameTensor(*a, weight, "w after the write");
    EXPECT_NE(a->data_ptr(), b->data_ptr()); // copies
}

} // namespace
} // namespace tmk

namespace tmk {
namespace {

// convertCheckpoint to bf16 rounds as libtorch does: every floating tensor of the converted fixture, loaded
// as bf16, has the same bits as the original loaded as bf16; vectors and the kept prefix stay float32.
TEST(TorchTensor, Bfloat16CheckpointLoadsTheSameBitsAsConvertingAtLoad)
{
    const fs::path original = test::dataDir() / "musicgen-tiny-public";
    const fs::path converted = test::freshOutDir("convert_checkpoint") / "model.safetensors";
    Expected<ConvertStats> stats = convertCheckpoint(original, converted, DType::BF16, { "audio_encoder." });
    ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_GT(stats->tensorsConverted, 0);
    EXPECT_LT(stats->bytesOut, stats->bytesIn);

    Expected<SafetensorsCheckpoint> before = SafetensorsCheckpoint::open(original);
    Expected<SafetensorsCheckpoint> after = SafetensorsCheckpoint::open(converted);
    ASSERT_TRUE(before && after);
    EXPECT_EQ(after->files().front().metadata().at("tastemaker_dtype"), "BF16");
    Expected<WeightStore> a = WeightStore::open(original), b = WeightStore::open(converted);
    ASSERT_TRUE(a && b);
    const at::TensorOptions bf16 = at::TensorOptions().dtype(at::kBFloat16);
    int compared = 0;
    for (const std::string& name : before->names()) {
        const TensorInfo& from = *before->find(name).info;
        const TensorInfo& to = *after->find(name).info;
        const bool floating = from.dtype == DType::F32;
        const bool kept = name.rfind("audio_encoder.", 0) == 0 || from.shape.size() < 2 || !floating;
        EXPECT_EQ(to.dtype, kept ? from.dtype : DType::BF16) << name;
        if (!floating) continue;
        Expected<at::Tensor> x = a->get(name, from.shape, bf16), y = b->get(name, from.shape, bf16);
        ASSERT_TRUE(x && y) << name;
        EXPECT_TRUE(at::equal(*x, *y)) << name;
        ++compared;
    }
    EXPECT_GT(compared, 50);
    EXPECT_FALSE(convertCheckpoint(original, converted, DType::F16));
}

} // namespace
} // namespace tmk
