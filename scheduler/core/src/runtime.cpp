// weft::Runtime: the public face of RuntimeCore.
#include <weft/runtime.hpp>

#include "runtime_core.hpp"
#include "threadsafe_callbacks.hpp"

namespace weft {

Runtime::Runtime(RuntimeOptions options)
    : core_(std::make_unique<detail::RuntimeCore>(std::move(options))),
      threadsafe_callbacks_(std::make_shared<detail::ThreadsafeCallbacks>()) {
    core_->start();
}

Runtime::~Runtime() { core_->shutdown(); }

unsigned Runtime::worker_count() const noexcept { return core_->worker_count(); }

void Runtime::shutdown() { core_->shutdown(); }

void Runtime::call_soon_threadsafe_erased(std::unique_ptr<detail::ThreadsafeCallback> callback) {
    threadsafe_callbacks_->push(*this, std::move(callback));
}

}  // namespace weft
