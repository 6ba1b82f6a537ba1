// weft::Runtime: the public face of RuntimeCore.
#include <weft/runtime.hpp>

#include "runtime_core.hpp"

namespace weft {

Runtime::Runtime(RuntimeOptions options) : core_(std::make_unique<detail::RuntimeCore>(std::move(options))) {
    core_->start();
}

Runtime::~Runtime() { core_->shutdown(); }

unsigned Runtime::worker_count() const noexcept { return core_->worker_count(); }

void Runtime::shutdown() { core_->shutdown(); }

}  // namespace weft
