// weft::metrics::prometheus_text(): every line follows the text format 0.0.4's grammar (HELP and
// TYPE once per family, before its samples; sample names of the family; label syntax; numbers),
// a histogram's buckets are cumulative and end in +Inf = _count, and the figures are the
// snapshot's. (samples/http_server_metrics_test.sh also runs Prometheus' own Python parser on it.)
#include <catch2/catch.hpp>

#include <weft/weft.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct Parsed {
    std::map<std::string, std::string> types;  // family -> type
    std::vector<Sample> samples;
};

// Parses and checks the grammar line by line (REQUIREs on the first bad line).
Parsed parse(const std::string& text) {
    static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+$)");
    static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([-+0-9.eE]+|\+Inf|-Inf|NaN)$)");
    static const std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)\"(,|$))");
    REQUIRE(!text.empty());
    REQUIRE(text.back() == '\n');
    Parsed parsed;
    std::set<std::string> helped;
    std::string family;  // the one whose TYPE came last
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        CAPTURE(line);
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            REQUIRE(helped.insert(m[1]).second);  // once per family
        } else if (std::regex_match(line, m, type)) {
            REQUIRE(helped.count(m[1]) == 1);       // HELP first
            REQUIRE(parsed.types.count(m[1]) == 0);  // once
            family = m[1];
            parsed.types[family] = m[2];
        } else if (std::regex_match(line, m, sample)) {
            Sample s;
            s.name = m[1];
            const std::string& t = parsed.types[family];
            if (t == "histogram") {
                REQUIRE((s.name == family + "_bucket" || s.name == family + "_sum" || s.name == family + "_count"));
            } else {
                REQUIRE(s.name == family);  // a sample follows its own family's TYPE
            }
            std::string labels = m[3];
            for (std::sregex_iterator it(labels.begin(), labels.end(), label), end; it != end; ++it)
                s.labels[(*it)[1]] = (*it)[2];
            std::string rebuilt;  // every character of the label set is one of the labels
            for (std::sregex_iterator it(labels.begin(), labels.end(), label), end; it != end; ++it)
                rebuilt += it->str();
            REQUIRE(rebuilt == labels);
            const std::string number = m[4];
            s.value = number == "+Inf" ? HUGE_VAL : std::stod(number);
            parsed.samples.push_back(std::move(s));
        } else {
            FAIL("not a Prometheus text line");
        }
    }
    return parsed;
}

double value_of(const Parsed& p, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    for (const Sample& s : p.samples)
        if (s.name == name && s.labels == labels) return s.value;
    FAIL("no sample " << name);
    return 0;
}

weft::RuntimeMetrics made_up(bool histogram) {
    weft::RuntimeMetrics m;
    m.name = "test";
    m.uptime = std::chrono::milliseconds(1500);
    m.poll_time_histogram = histogram;
    for (unsigned i = 0; i < 3; ++i) {
        weft::WorkerMetrics w;
        w.index = i;
        w.polls = 1000 * (i + 1);
        w.tasks_stolen = 7;
        w.busy = std::chrono::milliseconds(250);
        w.uptime = std::chrono::milliseconds(1000);
        w.local_queue_depth = i;
        if (histogram) {
            w.poll_time.buckets[0] = 5;
            w.poll_time.buckets[3] = 2;
            w.poll_time.buckets[weft::PollTimeHistogram::kBuckets - 1] = 1;
            w.poll_time.count = 8;
            w.poll_time.sum_ns = 20'000'000;
        }
        m.workers.push_back(w);
    }
    m.blocking = {.threads = 4, .busy = 3, .idle = 1, .queued = 2, .max_threads = 512, .calls = 99};
    m.compute = {.threads = 2, .calls = 10, .running = 1, .queued = 0};
    return m;
}

}  // namespace

TEST_CASE("prometheus text: grammar, families and the snapshot's figures", "[obs][metrics][prometheus]") {
    const bool histogram = GENERATE(false, true);
    CAPTURE(histogram);
    const std::string text = weft::metrics::prometheus_text(made_up(histogram));
    const Parsed p = parse(text);
    CHECK(p.types.at("weft_worker_polls_total") == "counter");
    CHECK(p.types.at("weft_worker_local_queue_depth") == "gauge");
    CHECK(p.types.count("weft_worker_poll_duration_seconds") == (histogram ? 1u : 0u));
    for (const auto& [family, type] : p.types) {
        CAPTURE(family);
        if (type == "counter") CHECK(family.ends_with("_total"));
    }
    CHECK(value_of(p, "weft_workers") == 3);
    CHECK(value_of(p, "weft_uptime_seconds") == 1.5);
    CHECK(value_of(p, "weft_worker_polls_total", {{"worker", "0"}}) == 1000);
    CHECK(value_of(p, "weft_worker_polls_total", {{"worker", "2"}}) == 3000);
    CHECK(value_of(p, "weft_worker_stolen_tasks_total", {{"worker", "1"}}) == 7);
    CHECK(value_of(p, "weft_worker_busy_seconds_total", {{"worker", "1"}}) == 0.25);
    CHECK(value_of(p, "weft_worker_local_queue_depth", {{"worker", "2"}}) == 2);
    CHECK(value_of(p, "weft_blocking_threads_busy") == 3);
    CHECK(value_of(p, "weft_blocking_queue_depth") == 2);
    CHECK(value_of(p, "weft_blocking_calls_total") == 99);
    CHECK(value_of(p, "weft_compute_calls_running") == 1);
    if (histogram) {
        for (std::string worker : {"0", "1", "2"}) {
            double previous = -1;
            double last_le = 0;
            int buckets = 0;
            for (const Sample& s : p.samples) {
                if (s.name != "weft_worker_poll_duration_seconds_bucket" || s.labels.at("worker") != worker) continue;
                const double le = s.labels.at("le") == "+Inf" ? HUGE_VAL : std::stod(s.labels.at("le"));
                CHECK(le > last_le);         // bounds increase
                CHECK(s.value >= previous);  // cumulative
                last_le = le;
                previous = s.value;
                ++buckets;
            }
            CHECK(buckets == static_cast<int>(weft::PollTimeHistogram::kBuckets));
            CHECK(last_le == HUGE_VAL);
            CHECK(previous == value_of(p, "weft_worker_poll_duration_seconds_count", {{"worker", worker}}));
            CHECK(previous == 8);
            CHECK(value_of(p, "weft_worker_poll_duration_seconds_sum", {{"worker", worker}}) == 0.02);
            CHECK(value_of(p, "weft_worker_poll_duration_seconds_bucket", {{"worker", worker}, {"le", "1.024e-06"}}) ==
                  5);
            CHECK(value_of(p, "weft_worker_poll_duration_seconds_bucket", {{"worker", worker}, {"le", "8.192e-06"}}) ==
                  7);
        }
    }
}

TEST_CASE("prometheus text: a live runtime's snapshot parses", "[obs][metrics][prometheus]") {
    weft::Runtime rt({.workers = 2, .metrics_poll_histogram = true});
    weft::block_on(rt, []() -> weft::Task<void> {
        for (int i = 0; i < 100; ++i) co_await weft::spawn([]() -> weft::Task<int> { co_return 1; }());
    }());
    const Parsed p = parse(weft::metrics::prometheus_text(rt.metrics()));
    CHECK(value_of(p, "weft_workers") == 2);
    double polls = value_of(p, "weft_worker_polls_total", {{"worker", "0"}}) +
                   value_of(p, "weft_worker_polls_total", {{"worker", "1"}});
    CHECK(polls >= 1);
}
