#include "codec/loss_history.h"

#include <cmath>
#include <sstream>

#include <ATen/ops/cat.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/full.h>

#include "tensorio/torch/weights.h"

namespace tmk {

at::Tensor lossHistoryTensor(const LossHistory& history, size_t columns)
{
    std::vector<float> flat;
    for (const auto& row : history) flat.insert(flat.end(), row.begin(), row.end());
    return at::from_blob(flat.data(), { static_cast<int64_t>(history.size()), static_cast<int64_t>(columns) },
        at::TensorOptions().dtype(at::kFloat))
        .clone();
}

LossHistory lossHistoryRows(const at::Tensor& tensor)
{
    LossHistory rows;
    for (int64_t r = 0; r < tensor.size(0); ++r) {
        at::Tensor row = tensor[r].contiguous();
        rows.emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    }
    return rows;
}

Expected<LossHistory> readLossHistory(
    WeightStore& store, int64_t steps, size_t columns, const std::vector<size_t>& olderColumns)
{
    const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
    Expected<at::Tensor> rows = store.get("history", { steps, static_cast<int64_t>(columns) }, f32);
    if (rows) return lossHistoryRows(*rows);
    for (size_t older : olderColumns) {
        if (older >= columns) continue;
        Expected<at::Tensor> before = store.get("history", { steps, static_cast<int64_t>(older) }, f32);
        if (before)
            return lossHistoryRows(
                at::cat({ *before, at::full({ steps, static_cast<int64_t>(columns - older) }, NAN, f32) }, 1));
    }
    return rows.error();
}

std::string lossHistoryCsv(const std::vector<std::string>& columns, const LossHistory& history)
{
    std::ostringstream out;
    for (size_t c = 0; c < columns.size(); ++c) out << (c ? "," : "") << columns[c];
    out << "\n";
    for (const auto& row : history) {
        for (size_t c = 0; c < row.size(); ++c) {
            out << (c ? "," : "");
            if (std::isfinite(row[c])) out << row[c];
        }
        out << "\n";
    }
    return out.str();
}

} // namespace tmk
