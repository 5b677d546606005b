// Fitting the learned estimators and the statistics of the calibration report (used by
// `tastemaker-cli analyse --fit / --calibrate`).
#pragma once

#include <string>
#include <vector>

#include "estimators.h"

namespace tmk::analysis {

// Ridge regression on standardised features towards logit(clamp(target, 0.02, 0.98)), so that the model's
// logistic output runs 0..1. `features` restricts the inputs (empty = all); `lambda` is the ridge penalty
// per song.
LinearModel fitLogitRidge(const std::string& metric, const std::vector<AnalysisFeatures>& songs,
    const std::vector<double>& targets, const std::vector<int>& features, double lambda);

// Solves A x = b (A symmetric positive definite, n x n, row-major) by Gaussian elimination with pivoting.
std::vector<double> solveLinear(std::vector<double> a, std::vector<double> b, int n);

// Spearman rank correlation (average ranks for ties); 0 when either side is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

} // namespace tmk::analysis
