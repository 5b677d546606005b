#include "lm/delay_pattern.h"

#include <string>

#include <ATen/TensorOperators.h>
#include <ATen/ops/full.h>
#include <ATen/ops/where.h>

namespace tmk {

at::Tensor buildDelayPatternMask(int64_t batch, int64_t numCodebooks, int64_t maxLength, int64_t padId)
{
    TORCH_CHECK(batch >= 1 && numCodebooks >= 1 && maxLength >= 1, "buildDelayPatternMask: bad sizes");
    at::Tensor mask = at::full({ numCodebooks, maxLength }, -1, at::kLong); // [K, maxLength]
    auto m = mask.accessor<int64_t, 2>();
    for (int64_t k = 0; k < numCodebooks; ++k) {
        const int64_t trailingStart = maxLength - numCodebooks + 1 + k;
        for (int64_t s = 0; s < maxLength; ++s)
            if (s <= k || s >= trailingStart) m[k][s] = padId;
    }
    return mask.repeat({ batch, 1 }); // [B*K, maxLength]
}

at::Tensor applyDelayPattern(const at::Tensor& ids, const at::Tensor& mask)
{
    TORCH_CHECK(ids.dim() == 2 && mask.dim() == 2 && ids.size(0) == mask.size(0) && ids.size(1) <= mask.size(1),
        "applyDelayPattern: ids ", ids.sizes(), " do not fit the pattern mask ", mask.sizes());
    at::Tensor forced = mask.narrow(1, 0, ids.size(1)).to(ids.device()); // [B*K, L]
    return at::where(forced.eq(-1), ids, forced);
}

Expected<at::Tensor> undoDelayPattern(const at::Tensor& ids, int64_t numCodebooks, int64_t padId)
{
    if (ids.dim() != 2 || numCodebooks < 1 || ids.size(0) % numCodebooks != 0)
        return Error { ErrorCode::InvalidArgument,
            "undo delay pattern: ids must be [B*K, L] with K = " + std::to_string(numCodebooks) };
    const int64_t rows = ids.size(0);
    at::Tensor keep = ids.ne(padId); // [B*K, L]
    at::Tensor counts = keep.sum(1).to(at::kCPU); // [B*K]
    const int64_t frames = rows > 0 ? counts[0].item<int64_t>() : 0;
    if (!counts.eq(frames).all().item<bool>())
        return Error { ErrorCode::Mismatch,
            "undo delay pattern: the rows hold different numbers of pad ids (" + std::to_string(padId)
                + "), so the sequence does not follow the delay pattern" };
    return ids.masked_select(keep).reshape({ rows / numCodebooks, numCodebooks, frames }); // [B, K, frames]
}

at::Tensor delayCodesForTeacherForcing(const at::Tensor& codes, int64_t padId)
{
    TORCH_CHECK(codes.dim() == 3, "delayCodesForTeacherForcing: codes must be [B, K, T], got ", codes.sizes());
    const int64_t batch = codes.size(0), k = codes.size(1), frames = codes.size(2);
    at::Tensor ids = at::full({ batch, k, frames + k }, padId, codes.options().dtype(at::kLong)); // [B, K, T + K]
    for (int64_t c = 0; c < k; ++c) ids.select(1, c).narrow(1, c + 1, frames).copy_(codes.select(1, c));
    return ids.reshape({ batch * k, frames + k }); // [B*K, T + K]
}

} // namespace tmk
