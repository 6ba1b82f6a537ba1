// weft::ContextVar<T>: a value that follows the code that set it into the tasks and calls it
// starts (asyncio's contextvars).
//
//   inline weft::ContextVar<std::string> request_id("request_id");
//
//   weft::Task<> handle(Request req) {
//       auto token = request_id.set(req.id);                     // this task's context only
//       co_await weft::spawn(audit(req));                        // sees req.id
//       co_await weft::offload([] { log(request_id.get()); });   // so does the pool thread
//       request_id.reset(token);                                 // back to what it was
//   }
//
// The rules (asyncio's):
//  - Each task has a context: the values of the ContextVars set in it. A task starts with a
//    copy of its spawner's context (weft::spawn, Runtime::spawn, TaskGroup::spawn, gather's and
//    call_later's tasks) taken at spawn; a set() in the child never reaches the parent, nor a
//    set() in the parent after the spawn the child. A nested `co_await some_task()` is part of
//    the awaiting task: it shares its context (asyncio: a coroutine awaited directly).
//  - offload() and compute() run their callable in a copy of the awaiting task's context (as
//    asyncio.to_thread does): it sees the values; a set() there stays there. (Threads that a
//    oneTBB algorithm inside compute() fans out to do not see it: only the callable's own.)
//  - Outside any task, each thread has a context of its own (a plain thread that sets a value
//    and then calls Runtime::spawn or weft::run passes it to that task).
//  - A child that the fork-join fast path runs inline inside the task awaiting it still uses
//    its own context (its spawner's copy), not its joiner's.
// Cost: nothing for programs that never set a ContextVar (spawn tests one flag that stays
// false). After the first set() in the process a spawn from a task that has a context costs
// one small allocation (the task's extras) and a reference count; a context is an immutable
// map shared by every copy, and set() copies it (a few entries: contexts hold few variables).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/detail/context_inherit.hpp>
#include <weft/error.hpp>

namespace weft {

/// get() of a ContextVar that has no value here and no default (asyncio's LookupError).
class LookupError : public Error {
public:
    using Error::Error;
};

namespace detail {

// An immutable snapshot: the values of the ContextVars of one context, by variable id.
// Shared by reference count between a task and the children that copied it.
class TaskHeader;

class ContextMap {
public:
    struct Entry {
        std::uint64_t key;
        std::shared_ptr<const void> value;  // a T, for the ContextVar<T> whose id is `key`
    };
    const void* find(std::uint64_t key) const noexcept;
    const std::shared_ptr<const void>* find_entry(std::uint64_t key) const noexcept;
    // A copy of `base` (may be null) with `key` set to `value` (null: removed); null if empty.
    static std::shared_ptr<const ContextMap> with(const ContextMap* base, std::uint64_t key,
                                                  std::shared_ptr<const void> value);
    std::size_t size() const noexcept { return entries_.size(); }

private:
    std::vector<Entry> entries_;  // sorted by key
};

using ContextPtr = std::shared_ptr<const ContextMap>;

// The context of the code running on this thread: the innermost task's, else the thread's.
ContextPtr current_context() noexcept;
const ContextMap* current_context_map() noexcept;  // the same, borrowed (valid until a set())
// Replaces it (ContextVar::set, Context::run); raises g_spawn_extras.
void replace_current_context(ContextPtr context);
std::uint64_t next_context_var_id() noexcept;
// spawn_extras()'s half for contexts: `child` starts with a copy of the current context.
void inherit_context(TaskHeader* child) noexcept;

// Which context is current, as an identity for ContextVar tokens: the Context::run or bridged
// call in progress on this thread, else the running task, else this thread.
std::uintptr_t current_context_owner() noexcept;
// A context of its own for the scope: `owner` (odd: never a task's address), or a fresh one.
class ContextOwnerScope {
public:
    ContextOwnerScope() noexcept;  // a bridged call's copy of its task's context
    explicit ContextOwnerScope(std::uintptr_t owner) noexcept;  // Context::run: the Context
    ~ContextOwnerScope();
    ContextOwnerScope(const ContextOwnerScope&) = delete;
    ContextOwnerScope& operator=(const ContextOwnerScope&) = delete;

private:
    std::uintptr_t saved_;
};

// Runs `fn` with `context` as this thread's context (a bridged call on a pool thread);
// restores the thread's own afterwards.
class ThreadContextScope {
public:
    explicit ThreadContextScope(ContextPtr context) noexcept;
    ~ThreadContextScope();
    ThreadContextScope(const ThreadContextScope&) = delete;
    ThreadContextScope& operator=(const ThreadContextScope&) = delete;

private:
    ContextPtr saved_;
    ContextOwnerScope owner_;
};

}  // namespace detail

/// A context variable (asyncio.ContextVar). Usually a global or static: its identity is the
/// variable. set() returns a token that reset() takes to restore the value before that set().
///
///   static weft::ContextVar<int> depth("depth", 0);   // with a default
///   auto token = depth.set(depth.get() + 1);
///   ...
///   depth.reset(token);
template <class T>
class ContextVar {
    static_assert(std::is_copy_constructible_v<T>, "ContextVar<T>: get() returns a copy of T");

public:
    /// What set() returns: reset() takes it once, on the variable that made it.
    class Token {
    public:
        Token(const Token&) = delete;
        Token& operator=(const Token&) = delete;
        Token(Token&&) noexcept = default;
        Token& operator=(Token&&) noexcept = default;

    private:
        friend class ContextVar;
        Token(std::uint64_t key, std::shared_ptr<const void> old)
            : key_(key), owner_(detail::current_context_owner()), old_(std::move(old)) {}
        std::uint64_t key_;
        std::uintptr_t owner_;  // the context it was made in
        std::shared_ptr<const void> old_;  // null: it had no value
        bool used_ = false;
    };

    explicit ContextVar(std::string name) : name_(std::move(name)), key_(detail::next_context_var_id()) {}
    ContextVar(std::string name, T default_value)
        : name_(std::move(name)),
          key_(detail::next_context_var_id()),
          default_(std::make_shared<const T>(std::move(default_value))) {}
    ContextVar(const ContextVar&) = delete;
    ContextVar& operator=(const ContextVar&) = delete;

    /// Its value in the current context, else its default, else LookupError.
    T get() const {
        if (const void* value = lookup()) return *static_cast<const T*>(value);
        if (default_) return *default_;
        throw LookupError("weft::ContextVar '" + name_ + "' has no value in this context and no default");
    }
    /// Its value in the current context, else `fallback` (even if it has a default: asyncio's).
    T get(T fallback) const {
        if (const void* value = lookup()) return *static_cast<const T*>(value);
        return fallback;
    }
    /// Sets its value in the current context (the running task's, or this thread's).
    Token set(T value) {
        const detail::ContextMap* map = detail::current_context_map();
        std::shared_ptr<const void> old;
        if (map) {
            if (const auto* entry = map->find_entry(key_)) old = *entry;
        }
        replace(std::make_shared<const T>(std::move(value)), map);
        return Token(key_, std::move(old));
    }
    /// Restores the value it had before the set() that returned `token` (none: unset).
    /// UsageError for a token of another variable, one used already, or one made in another
    /// context (another task, thread, Context::run or offloaded call: asyncio's ValueError);
    /// such a refused token stays good in its own context.
    void reset(Token& token) {
        if (token.key_ != key_)
            throw UsageError("weft::ContextVar::reset: the token was made by another ContextVar than '" + name_ + "'");
        if (token.used_) throw UsageError("weft::ContextVar::reset: the token of '" + name_ + "' was used already");
        if (token.owner_ != detail::current_context_owner())
            throw UsageError("weft::ContextVar::reset: the token of '" + name_ + "' was made in another context");
        replace(token.old_, detail::current_context_map());
        token.used_ = true;
    }
    void reset(Token&& token) { reset(token); }

    const std::string& name() const noexcept { return name_; }

private:
    const void* lookup() const noexcept {
        const detail::ContextMap* map = detail::current_context_map();
        return map ? map->find(key_) : nullptr;
    }
    void replace(std::shared_ptr<const void> value, const detail::ContextMap* map) {
        detail::replace_current_context(detail::ContextMap::with(map, key_, std::move(value)));
    }

    std::string name_;
    std::uint64_t key_;
    std::shared_ptr<const T> default_;
};

/// A context as a value (asyncio.Context): copy_context() takes the current one; run(fn) calls
/// fn with it as the current context and keeps what fn set in it.
///
///   weft::Context snapshot = weft::copy_context();
///   snapshot.run([] { request_id.set("batch"); log(); });   // the caller's context is untouched
class Context {
public:
    Context() = default;  // empty: no variable has a value
    template <class Fn>
    decltype(auto) run(Fn&& fn) {
        Swap swap(*this);
        return std::invoke(std::forward<Fn>(fn));
    }

private:
    friend Context copy_context() noexcept;
    explicit Context(detail::ContextPtr map) noexcept : map_(std::move(map)) {}

    // Swaps this context in for the call, and the caller's back (keeping what fn set).
    class Swap {
    public:
        explicit Swap(Context& context)
            : context_(context),
              saved_(detail::current_context()),
              owner_(reinterpret_cast<std::uintptr_t>(&context) | 1) {
            detail::replace_current_context(context.map_);
        }
        ~Swap() {
            context_.map_ = detail::current_context();
            detail::replace_current_context(std::move(saved_));
        }
        Swap(const Swap&) = delete;
        Swap& operator=(const Swap&) = delete;

    private:
        Context& context_;
        detail::ContextPtr saved_;
        detail::ContextOwnerScope owner_;  // tokens made in the run belong to the Context
    };

    detail::ContextPtr map_;
};

/// The current context (the running task's, or this thread's outside tasks): a cheap copy.
inline Context copy_context() noexcept { return Context(detail::current_context()); }

}  // namespace weft
