#include <weft/detail/parked_waits.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>

namespace weft::detail {

// One intrusive list per shard; a list's shard follows from its address.
class ParkedWaitRegistry {
public:
    static ParkedWaitRegistry& instance() noexcept {
        // Never destroyed: a primitive with static storage may unregister after main returns.
        static auto* registry = new ParkedWaitRegistry;
        return *registry;
    }

    void add(ParkedWaitList* list) noexcept {
        Shard& shard = shard_of(list);
        std::lock_guard lock(shard.mutex);
        list->prev_ = nullptr;
        list->next_ = shard.head;
        if (shard.head) shard.head->prev_ = list;
        shard.head = list;
        list->registered_ = true;
    }

    void remove(ParkedWaitList* list) noexcept {
        Shard& shard = shard_of(list);
        std::lock_guard lock(shard.mutex);
        (list->prev_ ? list->prev_->next_ : shard.head) = list->next_;
        if (list->next_) list->next_->prev_ = list->prev_;
        list->prev_ = list->next_ = nullptr;
        list->registered_ = false;
    }

    std::size_t visit(const ParkedWaitList::Visit& visit) noexcept {
        std::size_t waiting = 0;
        for (Shard& shard : shards_) {
            std::lock_guard lock(shard.mutex);
            for (ParkedWaitList* list = shard.head; list; list = list->next_) {
                std::size_t here = list->visit_parked(visit);
                waiting += here == ParkedWaitList::kGuardBusy ? 1 : here;
            }
        }
        return waiting;
    }

private:
    struct Shard {
        std::mutex mutex;
        ParkedWaitList* head = nullptr;
    };
    static constexpr std::size_t kShards = 16;

    Shard& shard_of(const ParkedWaitList* list) noexcept {
        auto bits = reinterpret_cast<std::uintptr_t>(list);
        return shards_[(bits >> 6 ^ bits >> 12) % kShards];
    }

    std::array<Shard, kShards> shards_{};
};

void ParkedWaitList::register_parked() noexcept { ParkedWaitRegistry::instance().add(this); }

void ParkedWaitList::unregister_parked() noexcept { ParkedWaitRegistry::instance().remove(this); }

std::size_t visit_parked_waits(const ParkedWaitList::Visit& visit) noexcept {
    return ParkedWaitRegistry::instance().visit(visit);
}

}  // namespace weft::detail
