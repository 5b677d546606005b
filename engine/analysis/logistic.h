// A logistic classifier over standardised inputs, its fit (ridge-penalised cross-entropy, Newton's method) and
// its text form for a committed .inc file. Used by the mode classifier (mode_model.h) and the tempo octave
// check (tempo_octave.h).
#pragma once

#include <span>
#include <string>
#include <vector>

namespace tmk::analysis {

struct LogisticModel {
    double bias = 0.0;
    std::vector<double> mean, scale, weight; // one per input; empty: no model

    bool empty() const { return weight.empty(); }
    // The logit of class 1; 0 for an empty model or inputs of another size. Standardised inputs are clamped
    // to +-6.
    double logit(std::span<const double> inputs) const;
};

// Fits class 1 against class 0 (`labels` 0 or 1): the summed cross-entropy plus lambda x rows x |w|^2
// (the bias is not penalised). Every row must have the same size.
LogisticModel fitLogistic(const std::vector<std::vector<double>>& rows, const std::vector<int>& labels, double lambda);

// "bias, {means}, {scales}, {weights}," in full precision: an aggregate initialiser for LogisticModel.
std::string logisticToInc(const LogisticModel& model);

} // namespace tmk::analysis
