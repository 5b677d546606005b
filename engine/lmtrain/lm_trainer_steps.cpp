// LmTrainer's larger methods: the training batches and step, the evaluations, the optimiser's tensors and the
// checkpoint (lm_trainer.h).
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/zeros.h>

#include "codec/codec_plot.h"
#include "codec/encodec_train.h"
#include "lmtrain/lm_trainer.h"
#include "tastemaker/fileio.h"
#include "tensorio/torch/torch_tensor.h"

namespace tmk::lmtrain {

namespace fs = std::filesystem;

std::vector<std::string> lmCurveColumns(int64_t codebooks)
{
    std::vector<std::string> columns = kLmCurveColumns;
    for (int64_t k = 0; k < codebooks; ++k) columns.push_back("held_out_codebook_" + std::to_string(k));
    columns.insert(columns.end(), kLmTagColumns.begin(), kLmTagColumns.end());
    return columns;
}

std::vector<size_t> lmCurveColumnsBefore(int64_t codebooks)
{
    return { kLmCurveColumns.size() + static_cast<size_t>(codebooks), 10, 8 };
}

bool isPositionTable(const std::string& name)
{
    return name.size() >= 23 && name.compare(name.size() - 23, 23, "embed_positions.weights") == 0;
}

Batch LmTrainer::trainBatch(
    const at::Tensor& codes, const std::vector<WorldSong>& songs, const std::vector<int64_t>& train, int64_t frames)
{
    std::mt19937_64 random(encodec::mixSeed(m_options.seed, static_cast<uint64_t>(step)));
    Batch batch;
    std::vector<int64_t> chosen;
    batch.codes
        = lmtrain::randomCodeCrops(codes, train, m_options.batch, frames, random, &chosen, m_options.startShare);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    const lmtrain::PromptAugment augment { m_options.genreOnly, m_options.tagDropout };
    for (int64_t song : chosen) {
        batch.prompts.push_back(lmtrain::augmentPrompt(songs[static_cast<size_t>(song)], augment, random));
        batch.unconditional.push_back(uniform(random) < m_options.cfgDropout);
    }
    if (m_options.inputDropout > 0.0) batch.inputCodes = dropInputs(batch.codes, random);
    return batch;
}

at::Tensor LmTrainer::dropInputs(const at::Tensor& codes, std::mt19937_64& random) const
{
    at::Tensor dropped = codes.clone().contiguous();
    int64_t* values = dropped.data_ptr<int64_t>();
    const int64_t pad = m_config.decoder.padTokenId;
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (int64_t i = 0; i < dropped.numel(); ++i)
        if (uniform(random) < m_options.inputDropout) values[i] = pad;
    return dropped;
}

LmTrainer::StepLosses LmTrainer::trainStep(const Batch& batch, const Batch* contrast)
{
    const at::Tensor crossEntropy = trainingLoss(score(batch));
    at::Tensor loss = crossEntropy;
    StepLosses out;
    if (contrast) {
        const auto items = static_cast<int64_t>(contrast->prompts.size() / 2);
        const at::Tensor tagLoss = at::softplus(-contrastMargins(score(*contrast), items)).mean();
        loss = loss + m_options.tagContrast * tagLoss;
        out.tagContrast = tagLoss.item<double>();
    }
    m_adam.zeroGrad();
    loss.backward();
    clipGradNorm(m_trainable, m_options.maxGradNorm);
    m_adam.step(learningRate());
    ++step;
    out.crossEntropy = crossEntropy.item<double>();
    return out;
}

LmTrainer::TagEvaluation LmTrainer::evaluateTags(const at::Tensor& codes, const std::vector<WorldSong>& songs,
    const std::vector<int64_t>& eligible, int64_t frames, uint64_t stream)
{
    TagEvaluation result;
    if (eligible.empty()) return result;
    at::NoGradGuard noGrad;
    std::mt19937_64 random(encodec::mixSeed(m_options.seed, stream));
    double right = 0.0, margin = 0.0;
    int64_t items = 0;
    for (int64_t done = 0; done < kEvalCrops; done += m_options.batch) {
        const Batch batch = contrastRows(codes, songs, eligible, m_options.batch, frames, 0.0, random);
        const at::Tensor margins = contrastMargins(score(batch), m_options.batch).to(at::kDouble);
        right += margins.gt(0.0).sum().item<double>();
        margin += margins.sum().item<double>();
        items += m_options.batch;
    }
    result.right = right / static_cast<double>(items);
    result.margin = margin / static_cast<double>(items);
    return result;
}

LmTrainer::Evaluation LmTrainer::evaluate(const at::Tensor& codes, const std::vector<WorldSong>& songs,
    const std::vector<int64_t>& which, int64_t frames, Text text, uint64_t stream, bool opening)
{
    Evaluation result;
    if (which.empty()) return result;
    at::NoGradGuard noGrad;
    std::mt19937_64 random(encodec::mixSeed(m_options.seed, stream));
    double sum = 0.0;
    at::Tensor codebookSum = at::zeros({ m_config.decoder.numCodebooks }, at::kDouble);
    int64_t parts = 0;
    for (int64_t done = 0; done < kEvalCrops; done += m_options.batch, ++parts) {
        Batch batch;
        std::vector<int64_t> chosen;
        batch.codes
            = lmtrain::randomCodeCrops(codes, which, m_options.batch, frames, random, &chosen, opening ? 1.0 : 0.0);
        for (size_t i = 0; i < chosen.size(); ++i) {
            const size_t from = text == Text::Other ? (i + 1) % chosen.size() : i;
            batch.prompts.push_back(songs[static_cast<size_t>(chosen[from])].prompt);
        }
        batch.unconditional.assign(chosen.size(), text == Text::None);
        const TokenLogProbs scored = score(batch);
        sum += crossEntropy(scored).item<double>();
        codebookSum += codebookCrossEntropies(scored).to(at::kDouble);
    }
    result.mean = sum / static_cast<double>(parts);
    codebookSum /= static_cast<double>(parts);
    result.codebooks.assign(codebookSum.data_ptr<double>(), codebookSum.data_ptr<double>() + codebookSum.numel());
    return result;
}

std::map<std::string, at::Tensor> LmTrainer::weights()
{
    std::map<std::string, at::Tensor> out;
    for (auto& [name, tensor] : m_text.namedTensors()) out[name] = tensor.detach();
    for (const std::string& name : m_decoder.parameterNames()) out[name] = m_decoder.parameter(name)->detach();
    return out;
}

Expected<void> LmTrainer::saveCheckpoint(const fs::path& path, const std::string& configJson)
{
    std::map<std::string, at::Tensor> tensors = weights();
    for (auto& [name, value] : m_adam.state(optimiserNames())) tensors["adam." + name] = value;
    tensors["history"] = lossHistoryTensor(history, m_columns.size());
    return saveTensors(path, tensors,
        { { "step", std::to_string(step) }, { "adam_step", std::to_string(m_adam.stepCount()) },
            { "seed", std::to_string(m_options.seed) }, { "config", configJson } });
}

Expected<void> LmTrainer::loadOptimiser(WeightStore& store, const fs::path& path)
{
    step = std::stoll(store.metadataValue("step"));
    if (step == 0) return {};
    std::map<std::string, at::Tensor> state;
    const std::vector<std::string> names = optimiserNames();
    const std::vector<at::Tensor>& params = m_trainable;
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    for (size_t i = 0; i < names.size(); ++i)
        for (const char* suffix : { ".exp_avg", ".exp_avg_sq" }) {
            Expected<at::Tensor> moment = store.get("adam." + names[i] + suffix, params[i].sizes().vec(), f32);
            if (!moment) return moment.error();
            state[names[i] + suffix] = *moment;
        }
    TMK_TRY(m_adam.loadState(state, names, std::stoll(store.metadataValue("adam_step")), path.string()));
    Expected<LossHistory> rows
        = readLossHistory(store, step, m_columns.size(), lmCurveColumnsBefore(m_config.decoder.numCodebooks));
    if (!rows) return rows.error();
    history = std::move(*rows);
    return {};
}

Expected<void> LmTrainer::writeCurves(const fs::path& dir) const
{
    std::vector<std::pair<double, double>> train, trainEval, heldOut, unconditional;
    for (const auto& row : history) {
        train.emplace_back(row[0], row[1]);
        if (std::isfinite(row[3])) trainEval.emplace_back(row[0], row[3]);
        if (std::isfinite(row[4])) heldOut.emplace_back(row[0], row[4]);
        if (std::isfinite(row[5])) unconditional.emplace_back(row[0], row[5]);
    }
    TMK_TRY(writeFileAtomic(dir / "loss.csv", lossHistoryCsv(m_columns, history)));
    return writeLossPlotPng(dir / "loss.png", { train, heldOut, unconditional, trainEval });
}

Batch LmTrainer::contrastRows(const at::Tensor& codes, const std::vector<WorldSong>& songs,
    const std::vector<int64_t>& eligible, int64_t items, int64_t frames, double otherTagDropout,
    std::mt19937_64& random) const
{
    Batch batch;
    std::vector<int64_t> chosen;
    const at::Tensor openings = lmtrain::randomCodeCrops(codes, eligible, items, frames, random, &chosen, 1.0);
    batch.codes = at::cat({ openings, openings }, 0);
    std::vector<std::string> swapped;
    for (int64_t song : chosen) {
        const std::string prompt
            = lmtrain::dropOtherThanContrastTags(songs[static_cast<size_t>(song)].prompt, otherTagDropout, random);
        batch.prompts.push_back(prompt);
        swapped.push_back(lmtrain::swapContrastTag(prompt, random));
    }
    batch.prompts.insert(batch.prompts.end(), swapped.begin(), swapped.end());
    batch.unconditional.assign(batch.prompts.size(), false);
    return batch;
}

std::vector<at::Tensor> LmTrainer::trainable()
{
    std::vector<at::Tensor> out = m_text.trainableTensors();
    for (const std::string& name : m_decoder.parameterNames())
        if (!isPositionTable(name)) out.push_back(*m_decoder.parameter(name));
    for (at::Tensor& t : out) t.requires_grad_(true);
    return out;
}

std::vector<double> LmTrainer::textPathScales(double scale)
{
    std::vector<double> scales(m_text.trainableTensors().size(), scale);
    for (const std::string& name : m_decoder.parameterNames())
        if (!isPositionTable(name))
            scales.push_back(
                name.find("encoder_attn") != std::string::npos || name.find("enc_to_dec_proj") != std::string::npos
                    ? scale
                    : 1.0);
    return scales;
}

std::vector<std::string> LmTrainer::optimiserNames()
{
    std::vector<std::string> names;
    const size_t textCount = m_text.trainableTensors().size();
    for (size_t i = 0; i < textCount; ++i) names.push_back("text_encoder.leaf." + std::to_string(i));
    for (const std::string& name : m_decoder.parameterNames())
        if (!isPositionTable(name)) names.push_back(name);
    return names;
}

} // namespace tmk::lmtrain
