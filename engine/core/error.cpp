#include "tastemaker/error.h"

namespace tmk {

const char* errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::Io: return "I/O error";
    case ErrorCode::Format: return "malformed file";
    case ErrorCode::Mismatch: return "mismatch";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::Device: return "device error";
    case ErrorCode::Internal: return "internal error";
    }
    return "error";
}

}  // namespace tmk
