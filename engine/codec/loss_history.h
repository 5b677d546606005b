// The loss history both trainers keep (train-codec, train-lm): one row of floats per step, NaN where a column
// has no value that step. It is stored in checkpoints as a [steps, columns] float32 tensor and written as
// loss.csv (empty cells for NaN).
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"

namespace tmk {

class WeightStore; // tensorio/torch/weights.h

using LossHistory = std::vector<std::vector<float>>;

at::Tensor lossHistoryTensor(const LossHistory& history, size_t columns);
LossHistory lossHistoryRows(const at::Tensor& tensor); // [steps, columns]
// A checkpoint's "history" tensor of `steps` rows, `columns` wide; or, from a checkpoint written before the
// last columns were added, one of `olderColumns` wide (tried in order), with the missing columns NaN. The
// store's error otherwise.
Expected<LossHistory> readLossHistory(
    WeightStore& store, int64_t steps, size_t columns, const std::vector<size_t>& olderColumns);
std::string lossHistoryCsv(const std::vector<std::string>& columns, const LossHistory& history);

} // namespace tmk
