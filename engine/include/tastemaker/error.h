// Errors are values at module boundaries: Expected<T> holds a T or an Error whose message is one
// sentence naming the file (or tensor, or line) and the problem.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tmk {

enum class ErrorCode {
    InvalidArgument, // the caller passed something unusable
    NotFound, // a file, tensor or key is missing
    Io, // the operating system refused a read or write
    Format, // a file exists but its content is malformed
    Mismatch, // well-formed, but disagrees with the model or config
    Unsupported, // valid, but a feature this build does not handle
    Cancelled, // the user cancelled the job
    Device, // the compute or audio device failed
    Internal, // a bug: an invariant did not hold
};

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;

    // "<file>: <problem>" is the usual shape of a message.
    static Error inFile(ErrorCode code, const std::string& file, const std::string& problem)
    {
        return Error { code, file + ": " + problem };
    }
};

template <typename T> class [[nodiscard]] Expected {
public:
    Expected(T value)
        : m_state(std::in_place_index<0>, std::move(value))
    {
    }
    Expected(Error error)
        : m_state(std::in_place_index<1>, std::move(error))
    {
    }

    bool ok() const { return m_state.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() &
    {
        assert(ok());
        return std::get<0>(m_state);
    }
    const T& value() const&
    {
        assert(ok());
        return std::get<0>(m_state);
    }
    T&& value() &&
    {
        assert(ok());
        return std::get<0>(std::move(m_state));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const
    {
        assert(!ok());
        return std::get<1>(m_state);
    }

private:
    std::variant<T, Error> m_state;
};

template <> class [[nodiscard]] Expected<void> {
public:
    Expected() = default;
    Expected(Error error)
        : m_error(std::move(error))
        , m_ok(false)
    {
    }

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const Error& error() const
    {
        assert(!m_ok);
        return m_error;
    }

private:
    Error m_error;
    bool m_ok = true;
};

} // namespace tmk

// Propagates an error from an Expected expression, otherwise yields nothing.
#define TMK_TRY(expr)                                                                                                  \
    do {                                                                                                               \
        auto&& tmk_try_result_ = (expr);                                                                               \
        if (!tmk_try_result_) return tmk_try_result_.error();                                                          \
    } while (0)
