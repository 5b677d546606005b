// Codec training: the trainable EnCodec is the engine's EnCodec (save -> Encodec::load gives the same
// numbers), the RVQ's k-means initialisation and dead-code restarts, and trainCodec end to end on synthetic
// audio (loss goes down, resume is exact, checkpoints are written atomically).
#include <cmath>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include "codec/codec_data.h"
#include "codec/encodec_train.h"
#include "codec/stft_discriminator.h"
#include "core/test_hooks.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/codec_training.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "tensorio/torch/weights.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;

namespace {

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

// 16 kHz, hop 40 (400 frames/s), 2 codebooks of 16: small enough for a few seconds per test.
CodecShape tinyShape()
{
    CodecShape shape;
    shape.ratios = { 8, 5 };
    shape.numFilters = 4;
    shape.hiddenSize = 8;
    shape.codebooks = 2;
    shape.codebookSize = 16;
    return shape;
}

EncodecConfig tinyConfig()
{
    EncodecConfig c;
    c.samplingRate = 16000;
    c.numFilters = 4;
    c.hiddenSize = c.codebookDim = 8;
    c.codebookSize = 16;
    c.upsamplingRatios = { 8, 5 };
    c.targetBandwidths = { 8.0 }; // 2 codebooks at 400 frames/s
    return c;
}

// Songs of chords (a major or minor triad of sines) with clicks, 1.5 s each.
fs::path writeSineSongs(const std::string& name, int count)
{
    const fs::path dir = test::freshOutDir(name);
    for (int s = 0; s < count; ++s) {
        std::vector<float> samples(24000);
        const double root = 220.0 * std::pow(2.0, s / 12.0);
        const double third = root * std::pow(2.0, (s % 2 ? 3 : 4) / 12.0);
        for (size_t i = 0; i < samples.size(); ++i) {
            const double t = static_cast<double>(i) / 16000.0;
            double v = 0.2
                * (std::sin(2 * M_PI * root * t) + std::sin(2 * M_PI * third * t)
                    + std::sin(2 * M_PI * root * 1.5 * t));
            if (i % 4000 < 40) v += 0.3 * (1.0 - (i % 4000) / 40.0);
            samples[i] = static_cast<float>(v / 2);
        }
        EXPECT_TRUE(writeAudioFile(dir / ("song" + std::to_string(s) + ".wav"), samples, 1, 16000, {}));
    }
    return dir;
}

CodecTrainOptions tinyOptions(const fs::path& audio, const fs::path& out, int64_t steps)
{
    CodecTrainOptions o;
    o.audioDir = audio;
    o.outDir = out;
    o.shape = tinyShape();
    o.steps = steps;
    o.batch = 4;
    o.seconds = 0.25;
    o.seed = 7;
    o.threads = 1;
    o.learningRate = 3e-3;
    o.warmupSteps = 3;
    o.checkpointEvery = 3;
    o.logEvery = 1;
    return o;
}

std::vector<std::vector<double>> readLossCsv(const fs::path& file)
{
    std::ifstream in(file);
    std::string line;
    std::getline(in, line); // header
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
        std::vector<double> row;
        std::stringstream cells(line);
        std::string cell;
        while (std::getline(cells, cell, ',')) row.push_back(cell.empty() ? NAN : std::stod(cell));
        rows.push_back(row);
    }
    return rows;
}

} // namespace

TEST(CodecTrain, SavedTrainableCodecDecodesLikeTheEngine)
{
    encodec::TrainableEncodec codec(tinyConfig(), 3);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(11);
    {
        at::NoGradGuard noGrad; // move every tensor away from its initial value, g != ||v|| included
        for (auto& p : codec.parameters()) p.value.add_(at::randn(p.value.sizes(), generator, kF32) * 0.05);
    }
    const at::Tensor audio = at::randn({ 2, 1, 800 }, generator, kF32) * 0.3;
    const at::Tensor latent = codec.encode(audio).detach();
    codec.quantize(
        at::randn({ 4, 8, 40 }, generator, kF32), /*train=*/true, generator); // k-means initialised codebooks
    const fs::path dir = test::freshOutDir("codec_equivalence");
    ASSERT_TRUE(encodec::saveEncodecFolder(codec, dir));

    Expected<Encodec> engine = encodec::loadEncodecFolder(dir, kF32);
    ASSERT_TRUE(engine) << engine.error().message;
    EXPECT_EQ(engine->hopLength(), 40);
    EXPECT_EQ(engine->codebookCount(), 2);
    EXPECT_TRUE(at::allclose(engine->encodeLatent(audio), latent, 1e-5, 1e-5));
    EXPECT_TRUE(at::allclose(engine->decodeLatent(latent), codec.decode(latent).detach(), 1e-5, 1e-5));
    const at::Tensor codes = at::randint(16, { 2, 2, 20 }, generator, at::TensorOptions().dtype(at::kLong));
    const at::Tensor embed0 = codec.buffers()[0].value, embed1 = codec.buffers()[4].value;
    const at::Tensor summed
        = (embed0.index_select(0, codes[0][0]) + embed1.index_select(0, codes[0][1])).t().unsqueeze(0);
    EXPECT_TRUE(at::allclose(engine->decode(codes).narrow(0, 0, 1), codec.decode(summed).detach(), 1e-5, 1e-5));
    // The engine's quantizer picks the codes the trainable one picks.
    const at::Tensor engineCodes = engine->quantize(latent, 2);
    EXPECT_TRUE(at::equal(engineCodes, codec.quantize(latent, /*train=*/false, generator).codes));
}

TEST(CodecTrain, DataDependentInitGivesTheInputLevel)
{
    // PyTorch's default initialisation shrinks the signal at every convolution: a fresh decoder's output is
    // tens of dB below its input. After the data-dependent initialisation the output has the input's RMS
    // (on the batch it was computed on, and close to it on another batch of the same kind of audio).
    encodec::TrainableEncodec codec(tinyConfig(), 5);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(13);
    const at::Tensor audio = at::randn({ 4, 1, 1600 }, generator, kF32) * 0.2;
    auto rms = [](const at::Tensor& x) { return x.pow(2).mean().sqrt().item<double>(); };
    const double before = rms(codec.decode(codec.encode(audio)).detach());
    EXPECT_LT(before, 0.2 * 0.3) << "the default initialisation is quiet (more than 10 dB down)";
    codec.dataDependentInit(audio);
    EXPECT_NEAR(rms(codec.decode(codec.encode(audio)).detach()), 0.2, 0.02);
    const at::Tensor other = at::randn({ 4, 1, 1600 }, generator, kF32) * 0.2;
    EXPECT_NEAR(rms(codec.decode(codec.encode(other)).detach()), 0.2, 0.05);
    for (const auto& p : codec.parameters()) EXPECT_TRUE(p.value.requires_grad()) << p.name;
}

TEST(CodecTrain, KMeansInitialisationFindsTheClusters)
{
    EncodecConfig config = tinyConfig();
    config.codebookSize = 4;
    config.targetBandwidths = { 4.0 }; // 1 codebook
    encodec::TrainableEncodec codec(config, 1);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
    const at::Tensor centres = at::randn({ 4, 8 }, generator, kF32) * 10; // 4 far-apart clusters, 50 points each
    const at::Tensor points = (centres.repeat({ 50, 1 }) + at::randn({ 200, 8 }, generator, kF32) * 0.01);
    const at::Tensor latent = points.view({ 1, 200, 8 }).permute({ 0, 2, 1 }); // [1, D, T]
    encodec::QuantizeResult result = codec.quantize(latent, /*train=*/true, generator);
    EXPECT_EQ(codec.buffers()[3].value.item<float>(), 1.0f); // inited
    EXPECT_NEAR(codec.buffers()[2].value.sum().item<double>(), 200.0, 1e-3);
    for (int64_t c = 0; c < 4; ++c) {
        const double nearest = (codec.buffers()[0].value - centres[c]).pow(2).sum(1).sqrt().min().item<double>();
        EXPECT_LT(nearest, 0.1) << "centre " << c;
    }
    EXPECT_EQ(result.restartedCodes, 0);
    EXPECT_LT(result.commitment.item<double>(), 1e-3);
}

TEST(CodecTrain, DeadCodesRestartFromBatchLatents)
{
    EncodecConfig config = tinyConfig();
    config.codebookSize = 4;
    config.targetBandwidths = { 4.0 };
    encodec::TrainableEncodec codec(config, 1);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(9);
    const at::Tensor latent = at::randn({ 1, 8, 64 }, generator, kF32);
    codec.quantize(latent, true, generator);
    {
        at::NoGradGuard noGrad;
        codec.buffers()[0].value[2].fill_(1000.0); // a code nothing is near
        codec.buffers()[2].value[2] = 0.0; // and that has not been used
    }
    encodec::QuantizeResult result = codec.quantize(latent, true, generator);
    EXPECT_GE(result.restartedCodes, 1);
    const at::Tensor rows = latent[0].t(); // [64, D]
    const double distance = (rows - codec.buffers()[0].value[2]).pow(2).sum(1).min().item<double>();
    EXPECT_LT(distance, 1e-10) << "a restarted code is one of the batch's latents";
    EXPECT_GT(codec.buffers()[2].value[2].item<double>(), 0.0);
}

TEST(CodecTrain, SplitIsBySongAndDeterministic)
{
    std::vector<encodec::Song> songs;
    for (int i = 0; i < 40; ++i) songs.push_back({ "song" + std::to_string(i), {}, {} });
    encodec::SongSplit a = encodec::splitBySong(songs, 3, 0.2);
    std::reverse(songs.begin(), songs.end());
    encodec::SongSplit b = encodec::splitBySong(songs, 3, 0.2);
    ASSERT_EQ(a.heldOut.size(), b.heldOut.size());
    for (size_t i = 0; i < a.heldOut.size(); ++i) EXPECT_EQ(a.heldOut[i].id, b.heldOut[i].id);
    EXPECT_EQ(a.train.size() + a.heldOut.size(), 40u);
    EXPECT_GE(a.heldOut.size(), 1u);
    EXPECT_LT(a.heldOut.size(), 20u);
}

TEST(CodecTrain, LossDecreasesOnChords)
{
    const fs::path audio = writeSineSongs("codec_sines", 6);
    const fs::path out = test::freshOutDir("codec_loss");
    CodecTrainOptions options = tinyOptions(audio, out, 30);
    options.checkpointEvery = 30;
    Expected<CodecTrainResult> result = trainCodec(options);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->steps, 30);
    EXPECT_GE(result->heldOutSongs, 1);
    const auto rows = readLossCsv(out / "loss.csv");
    ASSERT_EQ(rows.size(), 30u);
    double first = 0, last = 0;
    for (int i = 0; i < 5; ++i) first += rows[i][1], last += rows[25 + i][1];
    EXPECT_LT(last, 0.9 * first) << "mean loss of steps 1-5: " << first / 5 << ", of steps 26-30: " << last / 5;
    EXPECT_TRUE(std::isfinite(rows.back()[7])) << "held-out loss at the end";
    EXPECT_TRUE(fs::exists(out / "loss.png"));
    Expected<Encodec> engine = encodec::loadEncodecFolder(out / "codec", kF32);
    ASSERT_TRUE(engine) << engine.error().message;
    EXPECT_EQ(engine->sampleRate(), 16000);
    EXPECT_EQ(engine->decode(at::zeros({ 1, 2, 10 }, at::TensorOptions().dtype(at::kLong))).size(2), 400);
}

namespace {

// Runs `options(out, 6)` straight through, and `options(out, 3)` then resumed to 6 steps: every checkpoint
// tensor and loss.csv must be the same bytes.
void expectResumeIsExact(
    const std::string& name, const std::function<CodecTrainOptions(const fs::path&, int64_t)>& options)
{
    const fs::path straight = test::freshOutDir(name + "_straight");
    ASSERT_TRUE(trainCodec(options(straight, 6)));
    const fs::path resumed = test::freshOutDir(name + "_resumed");
    ASSERT_TRUE(trainCodec(options(resumed, 3)));
    CodecTrainOptions more = options(resumed, 6);
    more.resume = true;
    ASSERT_TRUE(trainCodec(more));

    Expected<SafetensorsCheckpoint> a = SafetensorsCheckpoint::open(straight / "checkpoint.safetensors");
    Expected<SafetensorsCheckpoint> b = SafetensorsCheckpoint::open(resumed / "checkpoint.safetensors");
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->names(), b->names());
    for (const std::string& tensor : a->names()) {
        const auto x = a->find(tensor).data(), y = b->find(tensor).data();
        ASSERT_EQ(x.size(), y.size()) << tensor;
        EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin())) << tensor << " differs after resuming";
    }
    EXPECT_EQ(readLossCsv(straight / "loss.csv").size(), 6u);
    std::ifstream l1(straight / "loss.csv"), l2(resumed / "loss.csv");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(l1), {}), std::string(std::istreambuf_iterator<char>(l2), {}));
}

} // namespace

TEST(CodecTrain, ResumeContinuesExactly)
{
    const fs::path audio = writeSineSongs("codec_resume_audio", 3);
    expectResumeIsExact("codec", [&](const fs::path& out, int64_t steps) { return tinyOptions(audio, out, steps); });
}

TEST(CodecTrain, CheckpointWritesAreAtomic)
{
    const fs::path audio = writeSineSongs("codec_atomic_audio", 2);
    const fs::path out = test::freshOutDir("codec_atomic");
    ASSERT_TRUE(trainCodec(tinyOptions(audio, out, 3)));
    Expected<std::string> before = readFileText(out / "checkpoint.safetensors");
    ASSERT_TRUE(before);
    CodecTrainOptions more = tinyOptions(audio, out, 6);
    more.resume = true;
    setSimulatedWriteFailureAfterBytes(1000); // the disk fills up during the next checkpoint
    Expected<CodecTrainResult> failed = trainCodec(more);
    setSimulatedWriteFailureAfterBytes(-1);
    EXPECT_FALSE(failed);
    Expected<std::string> after = readFileText(out / "checkpoint.safetensors");
    ASSERT_TRUE(after);
    EXPECT_EQ(*before, *after) << "a failed write leaves the last checkpoint intact";
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(out)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string> { "checkpoint.safetensors", "codec", "loss.csv", "loss.png" }))
        << "no temporary file is left behind";
    ASSERT_TRUE(trainCodec(more)) << "and training resumes from it";
}

namespace {

// Three sine songs (`name`_audio) and a codec trained on them for 6 steps (`name`_source/codec), for runs
// that start from it (--init-from).
std::pair<fs::path, fs::path> trainSourceCodec(const std::string& name)
{
    const fs::path audio = writeSineSongs(name + "_audio", 3);
    const fs::path source = test::freshOutDir(name + "_source");
    Expected<CodecTrainResult> trained = trainCodec(tinyOptions(audio, source, 6));
    EXPECT_TRUE(trained) << trained.error().message;
    return { audio, source };
}

} // namespace

TEST(CodecTrain, InitFromStartsAtTheGivenCodec)
{
    const auto [audio, source] = trainSourceCodec("codec_init");
    // One step at learning rate 0 from the source codec: the exported weights are the source's own.
    const fs::path out = test::freshOutDir("codec_init_out");
    CodecTrainOptions options = tinyOptions(audio, out, 1);
    options.initFrom = source / "codec";
    options.learningRate = 0.0;
    ASSERT_TRUE(trainCodec(options));
    Expected<SafetensorsCheckpoint> a = SafetensorsCheckpoint::open(source / "codec" / "model.safetensors");
    Expected<SafetensorsCheckpoint> b = SafetensorsCheckpoint::open(out / "codec" / "model.safetensors");
    ASSERT_TRUE(a && b);
    int compared = 0;
    for (const std::string& name : a->names()) {
        if (name.find(".quantizer.") != std::string::npos) continue; // the EMA codebooks move with the batch
        const auto x = a->find(name).data(), y = b->find(name).data();
        ASSERT_EQ(x.size(), y.size()) << name;
        EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin())) << name << " is not the source's";
        ++compared;
    }
    EXPECT_GT(compared, 10);
    const auto rows = readLossCsv(out / "loss.csv");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_LT(rows[0][1], readLossCsv(source / "loss.csv")[0][1]) << "it starts where the source ended, not afresh";

    // A codec of another shape is refused with the file named.
    CodecTrainOptions other = tinyOptions(audio, test::freshOutDir("codec_init_other"), 1);
    other.shape.hiddenSize = 16;
    other.initFrom = source / "codec";
    Expected<CodecTrainResult> refused = trainCodec(other);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("model.safetensors"), std::string::npos) << refused.error().message;
}

TEST(CodecTrain, RoundTripWithFewerCodebooksOrNoQuantizer)
{
    const fs::path audio = writeSineSongs("codec_trip_audio", 3);
    const fs::path out = test::freshOutDir("codec_trip");
    ASSERT_TRUE(trainCodec(tinyOptions(audio, out, 6)));
    Expected<TrainedCodec> codec = TrainedCodec::load(out / "codec");
    ASSERT_TRUE(codec) << codec.error().message;
    EXPECT_EQ(codec->codebookCount(), 2);
    Expected<std::vector<float>> song = readAudioMono(audio / "song0.wav", 16000);
    ASSERT_TRUE(song);
    Expected<TrainedCodec::RoundTrip> all = codec->roundTrip(*song);
    Expected<TrainedCodec::RoundTrip> one = codec->roundTrip(*song, { 1, false });
    Expected<TrainedCodec::RoundTrip> latent = codec->roundTrip(*song, { 0, true });
    ASSERT_TRUE(all && one && latent);
    ASSERT_EQ(one->audio.size(), song->size());
    ASSERT_EQ(latent->audio.size(), song->size());
    EXPECT_NE(all->audio, one->audio);
    EXPECT_NE(all->audio, latent->audio);
    // Each decodes what the engine's codec decodes from the same codes or latent.
    Expected<Encodec> engine = encodec::loadEncodecFolder(out / "codec", kF32);
    ASSERT_TRUE(engine);
    const at::Tensor input = at::from_blob(song->data(), { 1, 1, static_cast<int64_t>(song->size()) }, kF32);
    const at::Tensor expected = engine->decodeLatent(engine->encodeLatent(input)).narrow(2, 0, input.size(2));
    const at::Tensor got = at::from_blob(latent->audio.data(), { 1, 1, input.size(2) }, kF32);
    EXPECT_TRUE(at::allclose(expected, got, 1e-5, 1e-6));
    const at::Tensor expectedOne = engine->decode(engine->encode(input, 1)).narrow(2, 0, input.size(2));
    const at::Tensor gotOne = at::from_blob(one->audio.data(), { 1, 1, input.size(2) }, kF32);
    EXPECT_TRUE(at::allclose(expectedOne, gotOne, 1e-5, 1e-6));
}

// The discriminator: one output per STFT size, logits and five feature maps each, gradients reaching every
// weight; the hinge losses are non-negative and feature matching is 0 for the same audio.
TEST(CodecTrain, StftDiscriminatorShapesAndLosses)
{
    const encodec::StftDiscriminator d({ 1024, 512, 256 }, 8, 3);
    EXPECT_EQ(d.parameters().size(), 3u * 6u * 2u);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
    const at::Tensor real = at::randn({ 2, 1, 4000 }, generator, kF32) * 0.1;
    const at::Tensor fake = at::randn({ 2, 1, 4000 }, generator, kF32) * 0.1;
    const auto r = d.forward(real);
    const auto f = d.forward(fake);
    ASSERT_EQ(r.size(), 3u);
    for (size_t s = 0; s < 3; ++s) {
        const int64_t fft = 1024 >> s;
        EXPECT_EQ(r[s].logits.sizes(), (at::IntArrayRef { 2, 1, (4000 - fft) / (fft / 4) + 1, (fft / 2 + 1 + 7) / 8 }))
            << s;
        EXPECT_EQ(r[s].features.size(), 5u);
    }
    const at::Tensor dLoss = encodec::discriminatorHingeLoss(r, f);
    const at::Tensor gLoss = encodec::generatorHingeLoss(f);
    EXPECT_GE(dLoss.item<double>(), 0.0);
    EXPECT_GE(gLoss.item<double>(), 0.0);
    EXPECT_EQ(encodec::featureMatchingLoss(r, r).item<double>(), 0.0);
    EXPECT_GT(encodec::featureMatchingLoss(r, f).item<double>(), 0.0);
    dLoss.backward();
    for (const auto& p : d.parameters()) {
        ASSERT_TRUE(p.value.grad().defined()) << p.name;
        // (A bias's gradient can cancel exactly: while every logit lies within the hinge, real and fake
        // push the last bias by +1 and -1.)
        if (p.name.find(".weight") != std::string::npos)
            EXPECT_GT(p.value.grad().abs().sum().item<double>(), 0.0) << p.name;
    }
}

// --decoder-only with a discriminator: the encoder and the codebooks stay the source codec's, so a song's
// codes are the same; the decoder learns; the adversarial columns are filled; the discriminator is saved.
TEST(CodecTrain, DecoderOnlyAdversarialTrainingKeepsTheCodes)
{
    const auto [audio, source] = trainSourceCodec("codec_gan");
    const fs::path out = test::freshOutDir("codec_gan_out");
    CodecTrainOptions options = tinyOptions(audio, out, 4);
    options.initFrom = source / "codec";
    options.decoderOnly = true;
    options.adversarialWeight = 1.0;
    options.featureMatchingWeight = 1.0;
    options.warmupSteps = 0;
    Expected<CodecTrainResult> result = trainCodec(options);
    ASSERT_TRUE(result) << result.error().message;

    Expected<SafetensorsCheckpoint> a = SafetensorsCheckpoint::open(source / "codec" / "model.safetensors");
    Expected<SafetensorsCheckpoint> b = SafetensorsCheckpoint::open(out / "codec" / "model.safetensors");
    ASSERT_TRUE(a && b);
    int same = 0, changed = 0;
    for (const std::string& name : a->names()) {
        const auto x = a->find(name).data(), y = b->find(name).data();
        ASSERT_EQ(x.size(), y.size()) << name;
        const bool equal = std::equal(x.begin(), x.end(), y.begin());
        if (name.find(".decoder.") != std::string::npos)
            changed += !equal;
        else {
            EXPECT_TRUE(equal) << name << " changed, so the codes would";
            ++same;
        }
    }
    EXPECT_GT(same, 10);
    EXPECT_GT(changed, 10);
    Expected<Encodec> before = encodec::loadEncodecFolder(source / "codec", kF32);
    Expected<Encodec> after = encodec::loadEncodecFolder(out / "codec", kF32);
    ASSERT_TRUE(before && after);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(11);
    const at::Tensor clip = at::randn({ 1, 1, 4000 }, generator, kF32) * 0.2;
    EXPECT_TRUE(at::equal(before->encode(clip, 2), after->encode(clip, 2)));

    const auto rows = readLossCsv(out / "loss.csv");
    ASSERT_EQ(rows.size(), 4u);
    ASSERT_EQ(rows[0].size(), 13u);
    for (const auto& row : rows)
        for (int c : { 10, 11, 12 }) EXPECT_TRUE(std::isfinite(row[c])) << "column " << c;
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(out / "checkpoint.safetensors");
    ASSERT_TRUE(checkpoint);
    int discriminator = 0;
    for (const std::string& name : checkpoint->names()) discriminator += name.rfind("disc.", 0) == 0;
    EXPECT_EQ(discriminator, 36);

    // The retrained decoder swaps into a folder holding the source codec (as train-lm exports it); a codec
    // whose encoder moved is refused, naming the tensor.
    const fs::path swapped = test::freshOutDir("codec_gan_swap") / "model.safetensors";
    Expected<CodecSwapStats> swap = replaceCodecDecoder(source / "codec", out / "codec", swapped);
    ASSERT_TRUE(swap) << swap.error().message;
    EXPECT_EQ(swap->decoderTensorsChanged, changed);
    Expected<SafetensorsCheckpoint> c = SafetensorsCheckpoint::open(swapped);
    ASSERT_TRUE(c);
    for (const std::string& name : b->names()) {
        const auto x = b->find(name).data(), y = c->find(name).data();
        EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << name;
    }
    Expected<CodecSwapStats> moved
        = replaceCodecDecoder(source / "codec", test::dataDir() / "..", test::freshOutDir("codec_gan_x") / "m");
    EXPECT_FALSE(moved);
    const fs::path other = test::freshOutDir("codec_gan_other");
    ASSERT_TRUE(trainCodec(tinyOptions(audio, other, 2))); // a codec trained in full: another encoder
    moved = replaceCodecDecoder(source / "codec", other / "codec", test::freshOutDir("codec_gan_y") / "m");
    ASSERT_FALSE(moved);
    EXPECT_NE(moved.error().message.find("audio_encoder.encoder."), std::string::npos) << moved.error().message;
    EXPECT_NE(moved.error().message.find("--decoder-only"), std::string::npos) << moved.error().message;

    CodecTrainOptions fresh = tinyOptions(audio, test::freshOutDir("codec_gan_fresh"), 1);
    fresh.decoderOnly = true;
    Expected<CodecTrainResult> refused = trainCodec(fresh);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("--init-from"), std::string::npos) << refused.error().message;
}

// An adversarial run stopped and resumed ends with the same bytes as one that ran straight through, the
// discriminator and its Adam state included.
TEST(CodecTrain, AdversarialResumeContinuesExactly)
{
    const fs::path audio = writeSineSongs("codec_gan_resume_audio", 3);
    auto options = [&](const fs::path& out, int64_t steps) {
        CodecTrainOptions o = tinyOptions(audio, out, steps);
        o.adversarialWeight = 0.5;
        o.featureMatchingWeight = 1.0;
        return o;
    };
    expectResumeIsExact("codec_gan", options);
}
