// Captures what is logged through spdlog's default logger while it lives.
//
//   test::LogCapture log;
//   weft::run(main_task(), {.workers = 2});
//   REQUIRE(log.errors().size() == 1);        // records at level err or above
//   CHECK(log.lines().empty());               // every message's text
//
// It swaps in a default logger writing only to itself and puts the previous one back when
// destroyed. Messages may come from any worker: the sink locks.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace test {

class LogCapture {
public:
    struct Record {
        spdlog::level::level_enum level;
        std::string text;  // the message, without spdlog's pattern
    };

    LogCapture() : sink_(std::make_shared<Sink>()), previous_(spdlog::default_logger()) {
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("weft-test-capture", sink_));
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // Every record at level err or above, in the order logged.
    std::vector<Record> errors() const {
        std::vector<Record> out;
        for (auto& record : sink_->records())
            if (record.level >= spdlog::level::err) out.push_back(record);
        return out;
    }

    // The text of every record, in the order logged.
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        for (auto& record : sink_->records()) out.push_back(record.text);
        return out;
    }

private:
    class Sink final : public spdlog::sinks::base_sink<std::mutex> {
    public:
        std::vector<Record> records() {
            std::lock_guard lock(mutex_);
            return records_;
        }

    protected:
        void sink_it_(const spdlog::details::log_msg& msg) override {
            records_.push_back({msg.level, std::string(msg.payload.data(), msg.payload.size())});
        }
        void flush_() override {}

    private:
        std::vector<Record> records_;
    };

    std::shared_ptr<Sink> sink_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace test
