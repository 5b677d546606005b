// Collective (collective.h): c10d's TCPStore and ProcessGroupGloo from Debian's libtorch (headers from
// libgloo-dev).
#ifndef USE_C10D_GLOO // Torch's CMake flags define it; the header is empty without it
#define USE_C10D_GLOO 1
#endif
#undef TORCH_ASSERT_ONLY_METHOD_OPERATORS
#undef AT_PER_OPERATOR_HEADERS
#include "training/collective.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>

#include <ATen/ops/tensor.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace tmk {

struct Collective::Impl {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

bool isLoopback(const std::string& host)
{
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The Gloo transport's address: GLOO_SOCKET_IFNAME as in PyTorch, loopback for a local world, else the
// address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> glooDevice(const DistributedOptions& options)
{
    if (const char* name = std::getenv("GLOO_SOCKET_IFNAME"); name && *name)
        return c10d::ProcessGroupGloo::createDeviceForInterface(name);
    if (isLoopback(options.masterAddr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::string withoutTrace(std::string message)
{
    if (const size_t cut = message.find("\nException raised from"); cut != std::string::npos) message.resize(cut);
    return message;
}

void wait(const c10::intrusive_ptr<c10d::Work>& work)
{
    work->wait();
}

} // namespace

Collective::Collective(std::unique_ptr<Impl> impl, int64_t rank, int64_t size)
    : m_impl(std::move(impl))
    , m_rank(rank)
    , m_size(size)
{
}

Collective::~Collective() = default;

template <typename F> auto Collective::guarded(const char* what, F&& call)
{
    try {
        return call();
    } catch (const std::exception& e) {
        m_broken = true;
        throw CollectiveError(std::string(what) + ": " + withoutTrace(e.what()));
    }
}

Expected<std::shared_ptr<Collective>> Collective::join(const DistributedOptions& options)
{
    static std::mutex mutex;
    static std::shared_ptr<Collective> current;
    static std::string currentKey;
    const std::string key = options.masterAddr + ":" + std::to_string(options.masterPort) + "/"
        + std::to_string(options.rank) + "/" + std::to_string(options.worldSize);
    std::lock_guard lock(mutex);
    if (current && currentKey == key && !current->m_broken) return current;
    current.reset(); // a broken or different group goes first (its store may hold the port)
    Expected<std::unique_ptr<Collective>> made = connect(options);
    if (!made) return made.error();
    current = std::move(*made);
    currentKey = key;
    return current;
}

Expected<std::unique_ptr<Collective>> Collective::connect(const DistributedOptions& options)
{
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeoutSeconds * 1000.0));
    const std::string where = options.masterAddr + ":" + std::to_string(options.masterPort);
    auto impl = std::make_unique<Impl>();
    try {
        c10d::TCPStoreOptions storeOptions;
        storeOptions.port = static_cast<uint16_t>(options.masterPort);
        storeOptions.isServer = options.rank == 0;
        storeOptions.numWorkers = static_cast<size_t>(options.worldSize);
        storeOptions.waitWorkers = true;
        storeOptions.timeout = timeout;
        auto tcp = c10::make_intrusive<c10d::TCPStore>(options.masterAddr, storeOptions);
        impl->store = c10::make_intrusive<c10d::PrefixStore>("tastemaker/", tcp);
        auto groupOptions = c10d::ProcessGroupGloo::Options::create(timeout);
        groupOptions->devices.push_back(glooDevice(options));
        impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
            impl->store, static_cast<int>(options.rank), static_cast<int>(options.worldSize), groupOptions);
    } catch (const std::exception& e) {
        std::string message = e.what();
        if (const size_t cut = message.find("\nException raised from"); cut != std::string::npos) message.resize(cut);
        return Error { ErrorCode::Device,
            "rank " + std::to_string(options.rank) + " of " + std::to_string(options.worldSize)
                + " could not join the training processes at " + where + " within "
                + std::to_string(static_cast<int64_t>(options.timeoutSeconds)) + " s (" + message
                + "); start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE" };
    }
    return std::unique_ptr<Collective>(new Collective(std::move(impl), options.rank, options.worldSize));
}

void Collective::allReduceSum(at::Tensor& tensor)
{
    guarded("all-reduce", [&] {
        std::vector<at::Tensor> tensors { tensor };
        wait(m_impl->group->allreduce(tensors, c10d::AllreduceOptions {}));
    });
}

void Collective::broadcast(at::Tensor& tensor)
{
    guarded("broadcast", [&] {
        std::vector<at::Tensor> tensors { tensor };
        wait(m_impl->group->broadcast(tensors, c10d::BroadcastOptions {}));
    });
}

bool Collective::any(bool flag)
{
    at::Tensor value = at::tensor({ static_cast<int64_t>(flag) }, at::kLong);
    allReduceSum(value);
    return value.item<int64_t>() > 0;
}

std::string Collective::share(const std::string& key, const std::string& text)
{
    return guarded("rendezvous store", [&] {
        const std::string unique = key + "/" + std::to_string(++m_shares);
        if (m_rank == 0) {
            m_impl->store->set(unique, std::vector<uint8_t>(text.begin(), text.end()));
            return text;
        }
        const std::vector<uint8_t> bytes = m_impl->store->get(unique);
        return std::string(bytes.begin(), bytes.end());
    });
}

} // namespace tmk
